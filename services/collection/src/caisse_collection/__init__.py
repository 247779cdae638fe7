"""Caisse collection workflow service: agents, cases, strategies, assignments, promises to pay"""
