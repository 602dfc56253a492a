"""Autotask PSA connector for the MSP billing hub: companies, contacts, tickets and time."""
