from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "qingshou.simulation"
    label = "simulation"
