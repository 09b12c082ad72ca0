"""The embedded local stack: moto in server mode plus the triggers AWS would fire, on 127.0.0.1."""
