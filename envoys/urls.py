from django.urls import path

from envoys import views

app_name = "envoys"

urlpatterns = [
    path("envoys/", views.EnvoyListView.as_view(), name="envoy_list"),
    path("envoys/<slug:slug>/", views.EnvoyDetailView.as_view(), name="envoy_detail"),
]
