"""Template tags for what every public page's frame says about the page: quotation marks around a quoted
sentence, and the page's title and description said once and printed in several places (``<title>``,
``<meta name="description">``, Open Graph)."""

import html
import re

from django import template
from django.utils.html import conditional_escape, strip_tags

register = template.Library()

#: opening quotation marks and the closing mark of each
QUOTE_MARKS = {"“": "”", "「": "」", "『": "』"}


@register.filter(is_safe=True)
def quoted(text):
    """``{{ outcome.quote|quoted }}``: the text between “ and ”, escaped. A text that already opens with a
    quotation mark (“ 「 『) gets no second one, and a closing mark is added only where an opening one is
    left unclosed: ``“投入100亿元”`` stays as it is, ``“投入100亿元”，他说`` too, ``投入100亿元`` becomes
    ``“投入100亿元”``. Empty (or None) gives ``""``."""
    if text is None or text == "":
        return ""
    text = str(text)
    first = text.lstrip()[:1]
    if first in QUOTE_MARKS:
        opening, closing, shown = first, QUOTE_MARKS[first], text
    else:
        opening, closing, shown = "“", "”", "“" + text
    if shown.count(opening) > shown.count(closing):
        shown += closing
    return conditional_escape(shown)


class CaptureNode(template.Node):
    def __init__(self, nodelist, name):
        self.nodelist, self.name = nodelist, name

    def render(self, context):
        text = html.unescape(strip_tags(self.nodelist.render(context)))
        # Plain text (escaped again where it is printed), kept in the outermost context so that every
        # block of the page can print it.
        context.dicts[0][self.name] = re.sub(r"\s+", " ", text).strip()
        return ""


@register.tag
def capture(parser, token):
    """``{% capture as page_title %}{% block title %}…{% endblock %}{% endcapture %}``: render the content
    (blocks inside are filled by the child templates as usual) into ``page_title`` as plain text (tags
    removed, entities read, white space collapsed), and print nothing."""
    bits = token.split_contents()
    if len(bits) != 3 or bits[1] != "as":
        raise template.TemplateSyntaxError("usage: {% capture as name %}…{% endcapture %}")
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist, bits[2])
