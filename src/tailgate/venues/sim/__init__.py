"""venues/sim"""
