"""daguerre.ops"""
