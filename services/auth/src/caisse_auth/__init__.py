"""Caisse auth service: identities, roles, permissions, JWT sessions, LDAP, audit"""
