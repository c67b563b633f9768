"""The article intake's screens in the admin (issue 13): add an article, preview its cleaned text, review the
proposed figures and accept the ticked ones.

The steps are in :mod:`tracker.intake`; this module holds the forms, the three views and their URLs, which
``config/urls.py`` mounts at ``/admin/intake/`` inside the admin (its login, its look). Only staff who may add
sources and outcomes (the ``editor`` role) use them; anyone else gets 403. An article between its paste and
its acceptance is a :class:`~tracker.intake.Draft` kept in the staff member's session: nothing is written to
the database before "Accept".
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from core.admin_tools import PartialDateFormField
from core.records import format_partial_date, parse_partial_date
from counties.models import County
from programs.models import Area, Fund, Indicator, Outcome, Program
from tracker import intake

SESSION_KEY = "intake-drafts"
KEEP_DRAFTS = 5  # the drafts a session keeps (one per browser tab at work, say)
REQUIRED_PERMISSIONS = ("programs.add_source", "programs.add_outcome")


def check_permission(request):
    """Editors only: adding an article creates sources and outcomes."""
    if not request.user.has_perms(REQUIRED_PERMISSIONS):
        raise PermissionDenied


# ---------------------------------------------------------------------------
# Drafts in the session


def save_draft(request, draft: intake.Draft) -> None:
    drafts = request.session.get(SESSION_KEY, {})
    drafts.pop(draft.token, None)
    drafts[draft.token] = draft.to_dict()
    while len(drafts) > KEEP_DRAFTS:
        drafts.pop(next(iter(drafts)))
    request.session[SESSION_KEY] = drafts


def load_draft(request, token: str) -> intake.Draft:
    data = request.session.get(SESSION_KEY, {}).get(token)
    if data is None:
        raise Http404(_("This article is no longer in your session (it was accepted long ago, or you logged "
                        "out). Add it again."))
    return intake.Draft.from_dict(data)


# ---------------------------------------------------------------------------
# Step 1: the article


class ArticleForm(forms.Form):
    """Paste or upload, with what the article's first lines may not say."""

    text = forms.CharField(
        label=gettext_lazy("Article text"), required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 80, "lang": "zh"}),
        help_text=gettext_lazy("Paste the article (or the HTML of its page)."),
    )
    file = forms.FileField(
        label=gettext_lazy("or its file"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.html,.htm,text/plain,text/html"}),
        help_text=gettext_lazy(".txt or .html; UTF-8, GB18030/GBK or Big5 (recognised by itself)."),
    )
    title = forms.CharField(
        label=gettext_lazy("Title"), max_length=300, required=False,
        help_text=gettext_lazy("Left empty: the page's title, or the article's first line."),
    )
    publisher = forms.CharField(
        label=gettext_lazy("Publisher"), max_length=100, required=False,
        help_text=gettext_lazy("Left empty: the outlet named on the article's date line, if any."),
    )
    published = PartialDateFormField(
        label=gettext_lazy("Published"), required=False,
        help_text=gettext_lazy("2019, 2019-06 or 2019-06-01: write only what is known. Left empty: the date "
                               "line of the article, if it has one."),
    )
    url = forms.URLField(label=gettext_lazy("URL"), max_length=500, required=False, assume_scheme="https")

    def clean(self):
        cleaned = super().clean()
        text, upload = cleaned.get("text") or "", cleaned.get("file")
        if text.strip() and upload:
            raise forms.ValidationError(_("Paste the text or choose a file, not both."))
        if not text.strip() and not upload:
            if "file" not in self.errors:
                self.add_error("text", _("Paste the article, or choose its file."))
            return cleaned
        try:
            if upload:
                if upload.size > intake.MAX_FILE_BYTES:
                    raise intake.ArticleFileError(_("The file is %(size)s MB; an article file may be %(limit)s MB "
                                                    "at most. Nothing was saved.") % {
                        "size": f"{upload.size / 2**20:.1f}", "limit": intake.MAX_FILE_BYTES // 2**20})
                article = intake.read_article_file(b"".join(upload.chunks()), upload.name)
            else:
                article = intake.read_article_text(text)
        except intake.ArticleFileError as exc:
            self.add_error("file" if upload else "text", str(exc))
            return cleaned
        published = cleaned.get("published") or (None, "")
        draft = intake.make_draft(
            article, title=cleaned.get("title", ""), publisher=cleaned.get("publisher", ""),
            published=format_partial_date(*published), url=cleaned.get("url", ""),
            file_name=upload.name if upload else "",
        )
        if not draft.text.strip():
            self.add_error("file" if upload else "text", _("Nothing of an article is left once the web page "
                                                           "around it is taken away."))
        elif not draft.title:
            self.add_error("title", _("Give the article's title: its first line is not one."))
        cleaned["draft"] = draft
        return cleaned


def add_article(request):
    """Step 1: paste or upload. A valid article becomes a draft in the session; on to its preview."""
    check_permission(request)
    form = ArticleForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        draft = form.cleaned_data["draft"]
        save_draft(request, draft)
        return HttpResponseRedirect(reverse("intake:preview", args=[draft.token]))
    return render(request, "admin/intake/add.html", {
        **admin.site.each_context(request), "title": _("Add an article"), "form": form,
    })


# ---------------------------------------------------------------------------
# Step 2: the preview


def preview(request, token):
    """Step 2: the text as it will be saved, what the cleaning took out, and what the article already is."""
    check_permission(request)
    draft = load_draft(request, token)
    source = intake.source_of(draft)
    candidates = intake.propose(draft.text, published=draft.published or None)
    return render(request, "admin/intake/preview.html", {
        **admin.site.each_context(request), "title": _("Preview: %(title)s") % {"title": draft.title},
        "draft": draft, "existing": source, "candidate_count": len(candidates),
        "same_url": bool(source and draft.url and source.text.strip() != draft.text.strip()),
    })


# ---------------------------------------------------------------------------
# Step 3: the review


class FigureForm(forms.Form):
    """One proposed figure, as the staff member leaves it. Checked only when ticked to accept."""

    accept = forms.BooleanField(label=gettext_lazy("Accept"), required=False)
    metric = forms.CharField(label=gettext_lazy("Metric"), max_length=200, required=False)
    value = forms.CharField(label=gettext_lazy("Value (base units)"), max_length=40, required=False)
    unit = forms.CharField(label=gettext_lazy("Unit"), max_length=20, required=False)
    value_printed = forms.CharField(label=gettext_lazy("As printed"), max_length=100, required=False)
    qualifier = forms.CharField(label=gettext_lazy("Qualifier"), max_length=20, required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Outcome.Kind.choices, required=False)
    period_start = forms.CharField(label=gettext_lazy("Period start"), max_length=10, required=False)
    period_end = forms.CharField(label=gettext_lazy("Period end / as of"), max_length=10, required=False)
    program = forms.CharField(label=gettext_lazy("Program"), max_length=150, required=False)
    fund = forms.CharField(label=gettext_lazy("Fund"), max_length=100, required=False)
    county = forms.CharField(label=gettext_lazy("County"), max_length=120, required=False)
    new_county = forms.BooleanField(required=False)
    new_program = forms.BooleanField(required=False)
    new_program_area = forms.ChoiceField(label=gettext_lazy("Area of the new program"),
                                         choices=[("", "---------"), *Area.choices], required=False)
    indicator = forms.CharField(label=gettext_lazy("Indicator"), max_length=150, required=False)
    quote = forms.CharField(label=gettext_lazy("Quote"), required=False, strip=False,
                            widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    LINKS = {"program": Program, "fund": Fund, "county": County, "indicator": Indicator}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.LINKS:
            self.fields[name].widget.attrs["list"] = f"intake-{name}-list"
        for name in ("period_start", "period_end"):
            self.fields[name].widget.attrs.update(size=10, placeholder="YYYY-MM-DD")
        for name in ("value", "unit", "qualifier"):
            self.fields[name].widget.attrs["size"] = 12

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("accept"):
            return cleaned
        for name in ("metric", "value_printed", "quote"):
            if not (cleaned.get(name) or "").strip():
                self.add_error(name, _("Needed to accept the figure."))
        text = (cleaned.get("value") or "").replace(",", "").strip()
        try:
            cleaned["value"] = Decimal(text) if text else None
            if cleaned["value"] is not None and not cleaned["value"].is_finite():
                raise InvalidOperation
        except InvalidOperation:
            self.add_error("value", _("Not a number: write it in base units (3037亿元 is 303700000000)."))
        for name in ("period_start", "period_end"):
            try:
                cleaned[name] = parse_partial_date(cleaned.get(name) or "")
            except ValueError as exc:
                self.add_error(name, str(exc))
        if not cleaned.get("kind"):
            cleaned["kind"] = Outcome.Kind.RESULT
        return cleaned


FigureFormSet = forms.formset_factory(FigureForm, extra=0, max_num=2000, absolute_max=2000)


def resolve_links(forms_: list[FigureForm]) -> None:
    """Each accepted form's program, fund, county and indicator (a slug or a name, as typed) → the record,
    one query per kind; a name that matches nothing is an error on its field."""
    accepted = [f for f in forms_ if f.is_valid() and f.cleaned_data.get("accept")]
    for name, model in FigureForm.LINKS.items():
        wanted = {f.cleaned_data[name].strip() for f in accepted if (f.cleaned_data.get(name) or "").strip()}
        found = {}
        if wanted:
            for record in model.objects.filter(Q(slug__in=wanted) | Q(name__in=wanted)):
                found.setdefault(record.slug, record)
                found.setdefault(record.name, record)
        for form in accepted:
            typed = (form.cleaned_data.get(name) or "").strip()
            if typed and typed not in found:
                form.add_error(name, _("No %(kind)s is called “%(name)s”.") % {
                    "kind": model._meta.verbose_name, "name": typed})
            else:
                form.cleaned_data[name] = found.get(typed)


def marked_article(text: str, rows: list[intake.ReviewRow]):
    """The article escaped, each candidate's sentence in a ``<mark id="sentence-N">`` (its printed figures in
    bold), followed by a numbered link to each of its candidates on the form."""
    sentences: dict[int, list[intake.ReviewRow]] = {}
    for row in rows:
        sentences.setdefault(row.candidate.quote_start, []).append(row)
    html, position = [], 0
    for start in sorted(sentences):
        members = sentences[start]
        end = start + len(members[0].candidate.quote)
        if start < position:
            continue
        html.append(escape(text[position:start]))
        inner, at = [], start
        for row in sorted(members, key=lambda r: r.candidate.start):
            c = row.candidate
            if c.start < at:
                continue
            inner.append(escape(text[at:c.start]))
            inner.append(format_html("<strong>{}</strong>", text[c.start:c.end]))
            at = c.end
        inner.append(escape(text[at:end]))
        recorded = all(row.recorded for row in members)
        html.append(format_html('<mark class="intake-sentence{}" id="sentence-{}">{}</mark>',
                                " recorded" if recorded else "", start, mark_safe("".join(inner))))
        for row in members:
            html.append(format_html('<a class="intake-ref" href="#figure-{}" title="{}">[{}]</a>',
                                    row.index, row.candidate.printed, row.index + 1))
        position = end
    html.append(escape(text[position:]))
    return mark_safe("".join(html))


# What made the proposer propose a figure (tracker.proposer's reasons), in the reader's language.
REASONS = {
    "number": gettext_lazy("number"), "unit": gettext_lazy("unit"),
    "unit from words": gettext_lazy("unit from the words"),
    "qualifier": gettext_lazy("qualifier"), "no exact value": gettext_lazy("no exact value"),
    "metric": gettext_lazy("metric"), "period": gettext_lazy("period"), "program": gettext_lazy("program"),
    "fund": gettext_lazy("fund"), "organization": gettext_lazy("organization"), "person": gettext_lazy("person"),
    "county": gettext_lazy("county"), "county (paragraph)": gettext_lazy("county (named just before)"),
    "program (paragraph)": gettext_lazy("program (named just before)"),
    "fund (paragraph)": gettext_lazy("fund (named just before)"), "indicator": gettext_lazy("indicator"),
    "new program": gettext_lazy("new program"),
}


def link_choices() -> dict[str, dict[str, str]]:
    """For each link field, slug → what the form shows and takes for that record: its name where no other record
    of its kind has it, else its slug (two counties may share a name). One query per kind."""
    choices = {}
    for name, model in FigureForm.LINKS.items():
        rows = list(model.objects.order_by("name", "pk").values_list("slug", "name"))
        names = Counter(n for _slug, n in rows)
        choices[name] = {slug: (n if names[n] == 1 else slug) for slug, n in rows}
    return choices


def review(request, token):
    """Step 3: the article with each candidate's sentence marked, and a form row per candidate; "Accept" records
    the ticked ones (:func:`tracker.intake.accept`) and shows the same page again, those now recorded."""
    check_permission(request)
    draft = load_draft(request, token)
    source = intake.source_of(draft)
    if source is not None and source.text.strip() != draft.text.strip():
        draft.text = source.text  # recorded under this URL with its own text: quotes must be in that one
    rows = intake.review_rows(draft, source=source)
    choices = link_choices()
    for row in rows:
        row.why = [(REASONS.get(what, what), words) for what, words in row.candidate.reasons]
        for name in FigureForm.LINKS:  # the record's name where it says which one
            row.initial[name] = choices[name].get(row.initial[name], row.initial[name])
    initial = [row.initial for row in rows]
    formset = FigureFormSet(request.POST or None, initial=initial, prefix="figure")
    status = 200
    if request.method == "POST":
        response = _accept(request, draft, rows, formset)
        if response is not None:
            return response
        status = 400
    pairs = list(zip(rows, formset.forms, strict=False))
    return render(request, "admin/intake/review.html", {
        **admin.site.each_context(request),
        "title": _("Review the figures: %(title)s") % {"title": draft.title},
        "draft": draft, "source": source, "formset": formset, "pairs": pairs,
        "article": marked_article(draft.text, rows),
        "open_count": sum(1 for row in rows if not row.recorded),
        "recorded_count": sum(1 for row in rows if row.recorded),
        "checked_count": sum(1 for row in rows if row.checked),
        "options": {name: sorted(set(shown.values())) for name, shown in choices.items()},
    }, status=status)


def _accept(request, draft, rows, formset):
    """The POST of the review: a redirect when the figures were recorded, None (errors on the forms) when not."""
    if not formset.is_valid():
        messages.error(request, _("Nothing was saved: correct the figures marked below."))
        return None
    forms_ = formset.forms[: len(rows)]
    resolve_links(forms_)
    figures, problems = [], 0
    for row, form in zip(rows, forms_, strict=False):
        data = form.cleaned_data if form.is_valid() else None
        if data is None:
            problems += 1
            continue
        if not data.get("accept") or row.recorded:
            continue
        new_county = ""
        if data.get("new_county") and data.get("county") is None and row.new_county:
            if not request.user.has_perm("counties.add_county"):
                raise PermissionDenied
            new_county = row.new_county.adcode
        new_program = ""
        if data.get("new_program") and data.get("program") is None and row.new_program:
            if not request.user.has_perm("programs.add_program"):
                raise PermissionDenied
            new_program = row.new_program
        figures.append(intake.Figure(
            index=row.index, metric=data["metric"].strip(), kind=data["kind"], value=data["value"],
            unit=data["unit"].strip(), value_printed=data["value_printed"].strip(),
            qualifier=data["qualifier"].strip(), quote=data["quote"].strip(), period_start=data["period_start"],
            period_end=data["period_end"], program=data["program"], fund=data["fund"], county=data["county"],
            indicator=data["indicator"], new_county=new_county, new_program=new_program,
            new_program_area=data.get("new_program_area") or "",
        ))
    if problems:
        messages.error(request, _("Nothing was saved: correct the figures marked below."))
        return None
    if not figures:
        messages.warning(request, _("No figure is ticked: tick the figures to record, then accept them."))
        return None
    try:
        result = intake.accept(draft=draft, figures=figures, user=request.user)
    except intake.AcceptError as exc:
        by_index = {row.index: form for row, form in zip(rows, forms_, strict=False)}
        for index, errors in exc.rows.items():
            form = by_index[index]
            for name, texts in errors.items():
                for text in texts:
                    form.add_error(name if name in form.fields else None, text)
        for text in exc.general:
            messages.error(request, text)
        messages.error(request, ngettext(
            "Nothing was saved: %(count)s figure breaks a rule (marked below).",
            "Nothing was saved: %(count)s figures break a rule (marked below).", len(exc.rows),
        ) % {"count": len(exc.rows)})
        return None
    draft.source_id = result.source.pk
    save_draft(request, draft)
    parts = [ngettext("%(count)s figure recorded", "%(count)s figures recorded", len(result.created)) % {
        "count": len(result.created)}]
    if result.already:
        parts.append(ngettext("%(count)s was recorded already", "%(count)s were recorded already",
                              len(result.already)) % {"count": len(result.already)})
    if result.counties:
        parts.append(_("new counties: %(names)s") % {"names": "、".join(c.name for c in result.counties)})
    if result.programs:
        parts.append(_("new programs: %(names)s") % {"names": "、".join(p.name for p in result.programs)})
    if result.source_created:
        parts.append(_("the article is a new source"))
    sentence = pgettext("between the parts of a sentence", "; ").join(parts) + pgettext("end of a sentence", ".")
    messages.success(request, format_html('{} <a href="{}">{}</a>', sentence, result.source.get_absolute_url(),
                                          _("See them on the article's page")))
    return HttpResponseRedirect(reverse("intake:review", args=[draft.token]))


# ---------------------------------------------------------------------------
# URLs: mounted by config/urls.py at /admin/intake/, inside the admin's login


def _admin_view(view):
    return admin.site.admin_view(view)


urlpatterns = [
    path("", _admin_view(add_article), name="add"),
    path("<str:token>/", _admin_view(preview), name="preview"),
    path("<str:token>/review/", _admin_view(review), name="review"),
]
intake_urls = (urlpatterns, "intake")
