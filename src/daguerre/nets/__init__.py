"""daguerre.nets"""
