"""Caisse bank-sync service: customers, loans and collaterals from T24, W4 and LOS"""
