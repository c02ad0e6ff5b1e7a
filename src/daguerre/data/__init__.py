"""daguerre.data"""
