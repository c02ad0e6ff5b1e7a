"""daguerre.training"""
