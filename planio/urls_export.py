app_name = "planio_export"
urlpatterns: list = []
