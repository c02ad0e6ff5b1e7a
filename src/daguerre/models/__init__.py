"""daguerre.models"""
