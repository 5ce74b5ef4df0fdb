from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "exportsite.shop"
    label = "shop"
    verbose_name = "Shop (demo)"
