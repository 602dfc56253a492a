"""NinjaOne RMM connector for the MSP billing hub: organisations and devices."""
