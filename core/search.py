"""Free-text search that treats simplified and traditional script alike, answered from an index.

Every searchable record keeps a ``search_text`` column: its searchable fields converted to
simplified script, lowercased, plus the pinyin of its name, so ``脫貧``, ``脱贫`` and ``tuopin``
all find 脱贫. A term matches when it is a substring of ``search_text``.

A substring test (``LIKE '%县%'``) reads every row, and neither database has a word breaker for
Chinese, so each record also keeps ``search_tokens``, the index terms of its ``search_text``, in
the manner of Lucene's CJK analyser:

- a run of Chinese (any non-ASCII letters or digits) gives its characters and its bigrams:
  普安县 gives ``普 普安 安 安县 县``;
- a run of ASCII letters and digits gives every suffix (cut to 32 characters): ``puan`` gives
  ``puan uan an n``.

A query term then needs: each bigram of its Chinese runs (or its one character), and each ASCII
run as a prefix (``uan*`` finds ``uan``, so pinyin is found from any letter). Every substring of
``search_text`` passes that test, so the index never loses a match. For a term of one run of one
or two Chinese characters, or one ASCII run, passing it is the same as containing the term; other
terms (``普安县``, ``2019年``) are then checked as substrings on the rows the index leaves, so the
index never adds a match either. The tokens live in an FTS5 table on SQLite (kept by triggers) and
in a generated ``tsvector`` column under a GIN index on PostgreSQL. Both columns are filled on every save (a
``pre_save`` hook, because admin edits, imports, seed loads and shell edits must all keep them
current) and by bulk writers explicitly (``generate_demo``).
"""

import re
import unicodedata
from functools import lru_cache

from django.db import connections, models
from django.db.models.signals import pre_save
from opencc import OpenCC
from pypinyin import lazy_pinyin

_to_simplified = OpenCC("t2s")


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    """Simplified script, full-width folded (NFKC), lowercase: the form both sides are compared in."""
    text = unicodedata.normalize("NFKC", text or "")
    return _to_simplified.convert(text).lower()


def pinyin_of(text: str) -> str:
    return "".join(lazy_pinyin(text or "", errors="ignore")).lower()


def build_search_text(instance) -> str:
    """The text ``q`` is matched against for one record."""
    parts = [str(getattr(instance, field, "") or "") for field in instance.SEARCH_FIELDS]
    name = getattr(instance, "name", "") or getattr(instance, "title", "") or ""
    parts.append(pinyin_of(name))
    return "\n".join(normalise(part) for part in parts if part)


# A run of ASCII letters/digits, or a run of other letters/digits (Chinese, and the rare other script).
_RUNS = re.compile(r"([0-9A-Za-z]+)|([^\W\x00-\x7f_]+)")
SUFFIX_LENGTH = 32


def search_tokens(search_text: str) -> str:
    """The index terms of one ``search_text``, space-separated, each once (see the module docstring)."""
    return " ".join(index_terms(search_text))


def index_terms(search_text: str) -> dict:
    """The index terms of one ``search_text`` as the keys of a dict, in order (:func:`search_tokens` joins them;
    none is empty or holds a space)."""
    tokens = {}
    for ascii_run, other_run in _RUNS.findall(search_text):
        if ascii_run:
            for i in range(len(ascii_run)):
                tokens[ascii_run[i:i + SUFFIX_LENGTH]] = None
        else:
            for i in range(len(other_run)):
                tokens[other_run[i]] = None
                tokens[other_run[i:i + 2]] = None
    return tokens


def query_tokens(term: str) -> list[tuple[str, bool]]:
    """What one normalised query term needs of ``search_tokens``: ``(token, is_prefix)`` pairs.

    Empty when the term has no letters or digits (``%``, ``·``): :func:`search_terms` leaves such a
    term out of every search.
    """
    needed = {}
    for ascii_run, other_run in _RUNS.findall(term):
        if ascii_run:
            needed[(ascii_run[:SUFFIX_LENGTH], True)] = None
        elif len(other_run) == 1:
            needed[(other_run, False)] = None
        else:
            for i in range(len(other_run) - 1):
                needed[(other_run[i:i + 2], False)] = None
    return list(needed)


def index_is_exact(term: str) -> bool:
    """Whether the tokens alone decide a match of ``term``: one run of one or two Chinese characters,
    or one ASCII run that fits a token. Other terms are checked as substrings after the index."""
    runs = _RUNS.findall(term)
    if len(runs) != 1 or "".join(runs[0]) != term:
        return False
    ascii_run, other_run = runs[0]
    return len(ascii_run) <= SUFFIX_LENGTH if ascii_run else len(other_run) <= 2


def fill_search_text(sender, instance, **kwargs):
    if hasattr(instance, "SEARCH_FIELDS"):
        instance.search_text = build_search_text(instance)
        instance.search_tokens = search_tokens(instance.search_text)


@lru_cache(maxsize=1)
def _replaced() -> tuple[frozenset, re.Pattern | None] | None:
    """What the OpenCC conversion replaces by something else: the single characters, and the longer phrases.
    A text that holds none of them is its own conversion: every phrase that can match in it is replaced by
    itself. None when OpenCC's tables cannot be read so (then every text is converted)."""
    try:
        _to_simplified.convert("")  # loads the tables
        chars, phrases = set(), set()
        pending = list(_to_simplified._dict_chain_data)
        while pending:
            item = pending.pop()
            if isinstance(item, list):
                pending.extend(item)
                continue
            table = next(part for part in item if isinstance(part, dict))
            for phrase, replacements in table.items():
                if replacements.split(" ")[0] != phrase:  # OpenCC takes the first replacement
                    (chars if len(phrase) == 1 else phrases).add(phrase)
        pattern = re.compile("|".join(re.escape(phrase) for phrase in sorted(phrases))) if phrases else None
        return (frozenset(chars), pattern) if chars else None
    except Exception:  # another OpenCC build: convert every text
        return None


def normalise_fresh(text: str) -> str:
    """:func:`normalise` for a text met once (no LRU entry): a text in which OpenCC would replace nothing
    skips it (its pure-Python conversion is most of the work of a row's search columns)."""
    text = unicodedata.normalize("NFKC", text or "")
    replaced = _replaced()
    if replaced is not None and replaced[0].isdisjoint(text) and not (replaced[1] and replaced[1].search(text)):
        return text.lower()
    return _to_simplified.convert(text).lower()


def fill_search_columns(model, instances) -> None:
    """:func:`fill_search_text` for many rows of ``model`` at once (an import), with the same result: each
    distinct field text is normalised (OpenCC, NFKC) and split into index terms once, however many rows share it
    (an outcome's quote is shared by the figures of one sentence), and a row's terms are its texts' terms in
    order (a term never spans two texts: they are joined by a line break)."""
    if not hasattr(model, "SEARCH_FIELDS"):
        return
    fields = model.SEARCH_FIELDS
    normalised, terms, pinyin = {}, {}, {}
    for instance in instances:
        parts = [str(getattr(instance, field, "") or "") for field in fields]
        name = getattr(instance, "name", "") or getattr(instance, "title", "") or ""
        if name:
            parts.append(pinyin.get(name) or pinyin.setdefault(name, pinyin_of(name)))
        pieces, tokens = [], {}
        for part in parts:
            if not part:
                continue
            piece = normalised.get(part)
            if piece is None:
                piece = normalised[part] = normalise_fresh(part)
                terms[piece] = index_terms(piece)
            pieces.append(piece)
            tokens.update(terms[piece])  # a dict of the piece's terms, in order: merged without a copy per row
        instance.search_text, instance.search_tokens = "\n".join(pieces), " ".join(tokens)


def connect_search_text():
    """Called once from ``ProgramsConfig.ready``: keep ``search_text`` current on every save, and
    the search index in place after every ``migrate``."""
    from django.apps import apps
    from django.db.models.signals import post_migrate

    post_migrate.connect(ensure_indexes_after_migrate, dispatch_uid="search_index_after_migrate")

    for model in apps.get_models():
        if hasattr(model, "SEARCH_FIELDS"):
            pre_save.connect(fill_search_text, sender=model, dispatch_uid=f"search_text_{model._meta.label}")


def search_terms(q) -> tuple[list[str], list[str]]:
    """The distinct normalised terms of ``q`` that are searched, and the words of ``q`` that are not.

    A word with no letter or digit (``%``, ``·``, ``。``, ``--``) is left out: no index term can
    answer it, so it could only be matched by reading every row (seconds on a large table, for
    anyone, as often as they like).
    """
    kept, ignored = {}, {}
    for word in (q or "").split():
        term = normalise(word)
        if _RUNS.search(term):
            kept[term] = None
        elif term:
            ignored[word] = None
    return list(kept), list(ignored)


def _terms_and_tokens(q) -> tuple[list[str], list[tuple[str, bool]]]:
    """The terms of ``q`` that are searched, and the index tokens they need together."""
    terms, _ignored = search_terms(q)
    return terms, list(dict.fromkeys(token for term in terms for token in query_tokens(term)))


def search(queryset, q, common=None):
    """``queryset`` narrowed to records whose ``search_text`` holds every whitespace-separated term of ``q``
    (but the words with no letter or digit, which :func:`search_terms` leaves out).

    Both sides are normalised (simplified script, NFKC, lowercase), so ``脫貧`` finds 脱贫 and
    ``puan`` finds 普安县 through the pinyin kept in ``search_text``. Each term is looked up in the
    index first (:class:`TokensMatch`), then checked as a substring on the rows the index leaves.
    ``common``: the answer of :func:`search_is_common` when the caller has it already (one list
    page searches the same ``q`` for its rows and for each facet).
    """
    terms, needed = _terms_and_tokens(q)
    if needed:
        if common is None:
            common = _is_common(queryset, needed)
        queryset = queryset.filter(TokensMatch(needed, common=common))
    for term in terms:
        if not index_is_exact(term):
            queryset = queryset.filter(search_text__contains=term)
    return queryset


class TokensMatch(models.Func):
    """True for the rows whose ``search_tokens`` hold every needed token (prefix tokens as prefixes).

    SQLite: ``id IN (SELECT rowid FROM <table>_fts WHERE <table>_fts MATCH '"普安" AND "县"*')``.
    PostgreSQL: ``search_vector @@ '普安 & 县:*'::tsquery``, where ``search_vector`` is a stored
    column generated as ``array_to_tsvector(string_to_array(search_tokens, ' '))`` under a GIN
    index. Other databases: always true (the substring test still applies, without an index).
    """

    output_field = models.BooleanField()

    def __init__(self, needed, common=False):
        self.needed = needed
        self.common = common
        super().__init__(models.F("pk"), models.F("search_tokens"))

    def as_sql(self, compiler, connection, **extra):
        return "1 = 1", ()

    def as_sqlite(self, compiler, connection, **extra):
        pk_sql, pk_params = compiler.compile(self.source_expressions[0])
        table = fts_table(self.source_expressions[0].target.model)
        # For a term in a large share of the rows, ``+id`` keeps SQLite from driving the query
        # by the match set (read whole, then sorted): it walks the sort index instead and stops
        # after one page, testing each row against the match set.
        drive = "+" if self.common else ""
        sql = f"{drive}{pk_sql} IN (SELECT rowid FROM {table} WHERE {table} MATCH %s)"
        return sql, (*pk_params, fts_match(self.needed))

    def as_postgresql(self, compiler, connection, **extra):
        tokens_sql, tokens_params = compiler.compile(self.source_expressions[1])
        # search_vector is the stored, generated column beside search_tokens (see ensure_index);
        # Django does not know it, so it is named through the compiled, aliased search_tokens.
        quote = connection.ops.quote_name
        vector_sql = tokens_sql.replace(quote("search_tokens"), quote("search_vector"))
        return f"{vector_sql} @@ (%s)::tsquery", (*tokens_params, tsquery(self.needed))


def fts_match(needed) -> str:
    """SQLite FTS5: ``"普安" AND "县"*``."""
    return " AND ".join(f'"{token}"' + ("*" if prefix else "") for token, prefix in needed)


def tsquery(needed) -> str:
    """PostgreSQL: ``'普安' & '县':*`` (tokens are letters and digits only, so need no escaping)."""
    return " & ".join(f"'{token}'" + (":*" if prefix else "") for token, prefix in needed)


COMMON_SHARE = 0.05  # a search matching more than this share of a table counts as common ...
COMMON_MIN_ROWS = 20_000  # ... in a table of at least this many rows (smaller tables are quick either way)


def search_is_common(queryset, q) -> bool:
    """Whether ``q`` matches a large share of a large SQLite table (see :class:`TokensMatch`)."""
    _terms, needed = _terms_and_tokens(q)
    return bool(needed) and _is_common(queryset, needed)


def _is_common(queryset, needed) -> bool:
    """SQLite: whether the tokens match a large share of a large table (one quick query, the same
    one whatever the size of the table, so a page's query count does not depend on the data)."""
    connection = connections[queryset.db]
    if connection.vendor != "sqlite" or not hasattr(queryset.model, "SEARCH_FIELDS"):
        return False
    table = queryset.model._meta.db_table
    fts = fts_table(queryset.model)
    size = f"(SELECT coalesce(max(rowid), 0) FROM {table})"
    threshold = f"({size} * {COMMON_SHARE})"
    with connection.cursor() as cursor:
        # Counting stops one past the threshold: a common term costs no more than a rare one.
        cursor.execute(
            f"SELECT {size} >= %s AND (SELECT count(*) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH %s "
            f"LIMIT CAST({threshold} AS INTEGER) + 1)) > {threshold}",
            [COMMON_MIN_ROWS, fts_match(needed)],
        )
        return bool(cursor.fetchone()[0])


def fts_table(model) -> str:
    return f"{model._meta.db_table}_fts"


# ---------------------------------------------------------------------------
# The index itself: made by each app's migration and checked again after every ``migrate``
# (SQLite rebuilds a table to alter it, which drops its triggers).


def ensure_index(model, connection) -> bool:
    """Create the search index of ``model`` where it is missing; True when something was made."""
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A stored tsvector column (generated, so every write keeps it) under a GIN index: a
            # search the planner answers by reading the table still compares ready-made vectors
            # instead of building one per row from the text.
            index = f"{table}_search_vector_gin"
            cursor.execute("SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
                           [table, "search_vector"])
            has_column = cursor.fetchone() is not None
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [index])
            if has_column and cursor.fetchone():
                return False
            if not has_column:
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
                               f"(array_to_tsvector(string_to_array(search_tokens, ' '))) STORED")
            cursor.execute(f"DROP INDEX IF EXISTS {table}_tokens_gin")  # the expression index it replaces
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (search_vector)")
            return True
        if connection.vendor != "sqlite":
            return False
        fts = fts_table(model)
        triggers = {f"{fts}_ai", f"{fts}_ad", f"{fts}_au"}
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name IN (%s, %s, %s, %s)",
                       [fts, *sorted(triggers)])
        present = {name for (name,) in cursor.fetchall()}
        if present == triggers | {fts}:
            return False
        cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(search_tokens, content='{table}', "
                       f"content_rowid='{pk}', tokenize='ascii', detail='none')")
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
                       f"INSERT INTO {fts}(rowid, search_tokens) VALUES (new.{pk}, new.search_tokens); END")
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
                       f"INSERT INTO {fts}({fts}, rowid, search_tokens) "
                       f"VALUES ('delete', old.{pk}, old.search_tokens); END")
        cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF search_tokens ON {table} BEGIN "
                       f"INSERT INTO {fts}({fts}, rowid, search_tokens) "
                       f"VALUES ('delete', old.{pk}, old.search_tokens); "
                       f"INSERT INTO {fts}(rowid, search_tokens) VALUES (new.{pk}, new.search_tokens); END")
        # Rows written while a trigger was missing are not in the index yet: index them all again.
        cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        return True


def drop_index(model, connection):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {table}_tokens_gin")
            cursor.execute(f"DROP INDEX IF EXISTS {table}_search_vector_gin")
            cursor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
        elif connection.vendor == "sqlite":
            fts = fts_table(model)
            for suffix in ("ai", "ad", "au"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            cursor.execute(f"DROP TABLE IF EXISTS {fts}")


def index_operations(app_label, model_names):
    """Migration operations: fill ``search_tokens`` of existing rows, then build the index."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        for name in model_names:
            model = apps.get_model(app_label, name)
            changed = []
            for row in model._base_manager.only("pk", "search_text").iterator(chunk_size=2000):
                row.search_tokens = search_tokens(row.search_text)
                changed.append(row)
            model._base_manager.bulk_update(changed, ["search_tokens"], batch_size=1000)
            ensure_index(model, schema_editor.connection)

    def backwards(apps, schema_editor):
        for name in model_names:
            drop_index(apps.get_model(app_label, name), schema_editor.connection)

    return [migrations.RunPython(forwards, backwards)]


def vector_operations(app_label, model_names):
    """Migration operations: bring an index made by an earlier version of this module up to date
    (on PostgreSQL, the generated ``search_vector`` column in place of the expression index)."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        for name in model_names:
            ensure_index(apps.get_model(app_label, name), schema_editor.connection)

    return [migrations.RunPython(forwards, migrations.RunPython.noop)]


def ensure_indexes_after_migrate(sender, app_config, using="default", **kwargs):
    """``post_migrate``: put back any search index a later migration dropped (SQLite table rebuilds)."""
    connection = connections[using]
    tables = set(connection.introspection.table_names())
    for model in app_config.get_models():
        if hasattr(model, "SEARCH_FIELDS") and model._meta.db_table in tables:
            with connection.cursor() as cursor:
                columns = {c.name for c in connection.introspection.get_table_description(
                    cursor, model._meta.db_table)}
            if "search_tokens" in columns:
                ensure_index(model, connection)


DERIVED_COLUMNS = ("search_text", "search_tokens")


def derived_columns(model) -> list[str]:
    """The search columns ``model`` has: derived from other fields, never shown, often the widest."""
    names = {f.name for f in model._meta.concrete_fields}
    return [name for name in DERIVED_COLUMNS if name in names]
