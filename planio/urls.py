app_name = "planio"
urlpatterns: list = []
