"""daguerre.imaging"""
