app_name = "changeplans"
urlpatterns = []
