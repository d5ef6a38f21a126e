"""venues/hyperliquid"""
