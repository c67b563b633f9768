from django.urls import path

from counties import views

app_name = "counties"

urlpatterns = [
    path("counties/", views.CountyListView.as_view(), name="county_list"),
    path("counties/<slug:slug>/", views.CountyDetailView.as_view(), name="county_detail"),
]
