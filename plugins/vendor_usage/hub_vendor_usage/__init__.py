"""Vendor licence and usage counts (Pax8, CSV) for the MSP billing hub."""
