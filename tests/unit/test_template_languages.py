"""Templates compiled per language render exactly what run-time translation renders."""
import gettext

import pytest
from jinja2 import Environment

from credit_self.template_languages import TranslatedConstants


class Catalog(gettext.NullTranslations):
    WORDS = {"Hello": "你好", "Rate: 5%%": "比例：5%%", "Tag <b>new</b>": "标签<b>新</b>",
             "%(n)s days": "%(n)s天"}

    def gettext(self, message):
        return self.WORDS.get(message, message)

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)


def _environments():
    """(run time, compiled): the same catalog, translated when rendering or compiling."""
    runtime = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    runtime.install_gettext_translations(Catalog(), newstyle=True)
    compiled = runtime.overlay(extensions=[TranslatedConstants])
    compiled.compiled_translations = Catalog()
    return runtime, compiled


@pytest.mark.parametrize("source", [
    "{{ _('Hello') }}",
    "{{ _('Rate: 5%%') }}",
    "{{ _('Tag <b>new</b>') }}",
    "{{ _('%(n)s days', n=3) }}",
    "{{ _('Hello') ~ '<i>' }}",
    "{% set words = 'Hello' %}{{ _(words) }}",
    "{{ _('Not in the catalog') }}",
])
def test_compiled_templates_render_what_run_time_translation_renders(source):
    runtime, compiled = _environments()
    assert compiled.from_string(source).render() == runtime.from_string(source).render()


def test_only_constant_calls_are_compiled_away():
    _, compiled = _environments()
    source = "{{ _('Hello') }} {{ _('%(n)s days', n=2) }}"
    generated = compiled.compile(source, raw=True)
    assert "你好" in generated and "'%(n)s days'" in generated
