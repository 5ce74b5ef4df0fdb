from django.apps import AppConfig


class ShapesConfig(AppConfig):
    name = "exportsite.shapes"
    label = "shapes"
    verbose_name = "Shapes (test models)"
