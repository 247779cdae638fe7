"""Caisse payments service: mobile-money and bank payments, exactly once; reconciliation; receipts"""
