"""Xero accounting for the MSP billing hub: push invoices, credit notes and payments; lock what is synced."""
