"""Stripe payments for the MSP billing hub: stored-card charges, webhooks, refunds and disputes."""
