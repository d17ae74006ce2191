"""Federated learning with differential privacy (Flower + Opacus). Next stage; see README."""
