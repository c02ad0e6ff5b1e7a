"""daguerre.losses"""
