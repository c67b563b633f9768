from django.urls import path

from programs import views

app_name = "programs"

urlpatterns = [
    path("programs/", views.ProgramListView.as_view(), name="program_list"),
    path("programs/<slug:slug>/", views.ProgramDetailView.as_view(), name="program_detail"),
    path("funds/", views.FundListView.as_view(), name="fund_list"),
    path("funds/<slug:slug>/", views.FundDetailView.as_view(), name="fund_detail"),
    path("indicators/", views.IndicatorListView.as_view(), name="indicator_list"),
    path("indicators/<slug:slug>/", views.IndicatorDetailView.as_view(), name="indicator_detail"),
    path("outcomes/", views.OutcomeListView.as_view(), name="outcome_list"),
    path("outcomes/<slug:slug>/", views.OutcomeDetailView.as_view(), name="outcome_detail"),
    path("sources/", views.SourceListView.as_view(), name="source_list"),
    path("sources/<slug:slug>/", views.SourceDetailView.as_view(), name="source_detail"),
]
