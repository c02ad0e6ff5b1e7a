"""daguerre.metrics"""
