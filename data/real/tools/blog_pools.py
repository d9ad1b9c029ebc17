#!/usr/bin/env python3
"""Split personal-blog markdown posts into passages -> /work/corpus/pool/blog_<owner>.jsonl

Passage = one paragraph, or consecutive prose paragraphs joined with "\n\n" up to ~250 words.
Each paragraph's text is exactly the file's lines (CR stripped), trimmed.
"""

import collections
import json
import os
import re
import subprocess
import sys

MIRROR = "/work/.mirror"
OUT = os.environ.get("POOL_OUT", "/work/corpus/pool")
MAX_WORDS = 250
MIN_WORDS = 15
MAX_CHARS = 5000
MAX_PASSAGES = 30000


def git(gitdir, *args, binary=False):
    r = subprocess.run(["git", "-C", gitdir] + list(args), capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode(errors="replace"))
    return r.stdout if binary else r.stdout.decode("utf-8", errors="replace")


def ls(gitdir, commit):
    return git(gitdir, "ls-tree", "-r", "--name-only", "-z", commit).split("\0")


def show(gitdir, commit, path):
    return git(gitdir, "show", f"{commit}:{path}", binary=True).decode("utf-8", errors="replace")


# ---------------------------------------------------------------- text helpers
IMG_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
REFLINK_RE = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
TAG_RE = re.compile(r"<[^>]+>")
URL_RE = re.compile(r"https?://\S+")
LIQUID_RE = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
STOP = set(
    """the a an and or but of to in on at for with is was are were be been it its this that i we
you he she they my our your me us not no so as if then than have has had do did does from by about
just there their what when which who will would can could all out up one more very there's it's i'm""".split()
)


def strip_markup(t):
    t = LIQUID_RE.sub(" ", t)
    t = IMG_RE.sub(" ", t)
    t = LINK_RE.sub(r"\1", t)
    t = REFLINK_RE.sub(r"\1", t)
    t = TAG_RE.sub(" ", t)
    t = URL_RE.sub(" ", t)
    t = re.sub(r"&[a-z#0-9]+;", " ", t)
    return t


def words(t):
    return WORD_RE.findall(strip_markup(t))


LIST_ITEM_RE = re.compile(r"^\s*([-*+]|\d+[.)])\s+")


def classify(lines):
    """Return 'prose' or a reason for being a boundary/non-prose paragraph."""
    s = [l.strip() for l in lines]
    if all(x.startswith("#") for x in s):
        return "heading"
    if all(re.fullmatch(r"(-{3,}|\*{3,}|_{3,}|={3,})", x) for x in s):
        return "rule"
    if all(x.startswith("|") for x in s):
        return "table"
    if all(re.match(r"^(\t| {4,})", l) for l in lines) and not all(LIST_ITEM_RE.match(l) for l in lines):
        return "indented_code"
    if all(x.startswith("[") and re.match(r"^\[[^\]]+\]:\s*\S+", x) for x in s):
        return "link_refs"
    stripped = strip_markup("\n".join(lines))
    w = WORD_RE.findall(stripped)
    if not w:
        return "no_words"  # image-only, html-only, liquid-only
    # list of links: every list item is mostly link text
    if all(LIST_ITEM_RE.match(l) or not l.strip() for l in lines):
        linky = 0
        for l in lines:
            if not l.strip():
                continue
            nonlink = WORD_RE.findall(strip_markup(LINK_RE.sub(" ", IMG_RE.sub(" ", l))))
            if ("](" in l or "<a " in l or "http" in l) and len(nonlink) <= 4:
                linky += 1
        if linky >= max(1, 0.6 * sum(1 for l in lines if l.strip())):
            return "link_list"
    # code-ish: low ratio of alphabetic words among whitespace tokens
    toks = stripped.split()
    if toks and len(w) / len(toks) < 0.5 and len(toks) >= 6:
        return "codeish"
    return "prose"


def english_ok(t):
    w = [x.lower() for x in words(t)]
    if len(w) < MIN_WORDS:
        return True
    return sum(1 for x in w if x in STOP) / len(w) >= 0.12


# ---------------------------------------------------------------- post parsing
def split_front_matter(lines):
    """Return (front_matter_text, body_start_index) (0-based index of first body line)."""
    if lines and lines[0].strip() in ("---", "+++"):
        delim = lines[0].strip()
        for i in range(1, len(lines)):
            if lines[i].strip() == delim or (delim == "---" and lines[i].strip() == "..."):
                return "\n".join(lines[1:i]), i + 1
    return "", 0


def split_pelican_meta(lines):
    """Pelican's header ('Title: ...', 'Date: ...' lines up to the first blank line) -> (front_matter_text
    with lower-cased keys, body_start_index); ('', 0) when the file does not start with such a header."""
    i = 0
    while i < len(lines) and re.match(r"^[A-Za-z_]+:\s", lines[i]):
        i += 1
    if i == 0 or (i < len(lines) and lines[i].strip()):
        return "", 0
    fm = "\n".join(re.sub(r"^([A-Za-z_]+):", lambda m: m.group(1).lower() + ":", l) for l in lines[:i])
    return fm, i + 1


def setext_title(lines, start):
    """A body that opens with a setext heading ('Title' over '====') -> (title, index after it), else (None, start)."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i + 1 < len(lines) and lines[i].strip() and re.fullmatch(r"=+\s*", lines[i + 1]):
        return lines[i].strip(), i + 2
    return None, start


def fm_get(fm, key):
    m = re.search(rf"^{re.escape(key)}\s*[:=]\s*(.+)$", fm, re.M)
    if not m:
        return None
    v = m.group(1).strip()
    if v.startswith("! "):
        v = v[2:].strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        v = v[1:-1]
    return v


FENCE_RE = re.compile(r"^\s*(```|~~~)")
BLOCK_OPEN = re.compile(r"^\s*(<pre\b|<script\b|<style\b|\{%\s*highlight\b|<!--)", re.I)
BLOCK_CLOSE = {
    "<pre": re.compile(r"</pre>", re.I),
    "<script": re.compile(r"</script>", re.I),
    "<style": re.compile(r"</style>", re.I),
    "{%": re.compile(r"\{%\s*endhighlight\s*%\}"),
    "<!--": re.compile(r"-->"),
}


def paragraphs(lines, start, comment_mode=None):
    """Yield dicts {first, last (1-based), lines, kind, section, comment_author}."""
    out = []
    cur = []  # list of (lineno, text)
    section = "body"
    comment_author = None
    in_fence = False
    in_block = None

    def flush(kind_override=None):
        nonlocal cur
        if cur:
            ls_ = [t for _, t in cur]
            kind = kind_override or classify(ls_)
            out.append(
                dict(
                    first=cur[0][0],
                    last=cur[-1][0],
                    lines=ls_,
                    kind=kind,
                    section=section,
                    comment_author=comment_author,
                    quote=all(x.lstrip().startswith(">") for x in ls_),
                )
            )
        cur = []

    def one_line(kind):
        """The current line as a block of its own (a heading, a comment's author or date line)."""
        return dict(first=ln, last=ln, lines=[l], kind=kind, section=section, comment_author=comment_author)

    i = start
    while i < len(lines):
        ln = i + 1
        l = lines[i]
        if in_fence:
            if FENCE_RE.match(l):
                in_fence = False
            i += 1
            continue
        if in_block:
            if BLOCK_CLOSE[in_block].search(l):
                in_block = None
            i += 1
            continue
        if FENCE_RE.match(l):
            flush()
            in_fence = True
            i += 1
            continue
        m = BLOCK_OPEN.match(l)
        if m:
            key = m.group(1).lower()
            key = "{%" if key.startswith("{%") else key
            flush()
            if not BLOCK_CLOSE[key].search(l[m.end() :]):
                in_block = key
            i += 1
            continue
        if not l.strip():
            flush()
            i += 1
            continue
        if comment_mode == "criticalmas":
            st = l.strip()
            if st == "## Comments":
                flush()
                section = "comment"
                i += 1
                continue
            if section == "comment" and st.startswith("### "):
                flush()
                comment_author = st[4:].strip()
                out.append(one_line("comment_header"))
                i += 1
                continue
            if section == "comment" and re.fullmatch(r"\*[A-Z][a-z]+ \d+ at \d{4} at [\d:]+ [AP]M\*", st):
                flush()
                out.append(one_line("comment_date"))
                i += 1
                continue
        # a heading line inside a paragraph block ends the paragraph
        if l.lstrip().startswith("#") and re.match(r"^\s*#{1,6}\s", l):
            flush()
            out.append(one_line("heading"))
            i += 1
            continue
        cur.append((ln, l))
        i += 1
    flush()
    return out


def passages_from(paras):
    res = []
    group = []
    gw = 0

    def close():
        nonlocal group, gw
        if group:
            res.append(group)
        group, gw = [], 0

    for p in paras:
        if p["kind"] != "prose":
            close()
            continue
        text = "\n".join(p["lines"]).strip()
        nw = len(text.split())
        if group and (
            gw + nw > MAX_WORDS
            or p["section"] != group[-1]["section"]
            or p["comment_author"] != group[-1]["comment_author"]
            or p["quote"] != group[-1]["quote"]
        ):
            close()
        group.append(dict(p, text=text))
        gw += nw
        if gw >= MAX_WORDS:
            close()
    close()
    return res


# ---------------------------------------------------------------- domain + seller flags
DOMAINS = {
    "car_dealers": r"dealerships?|car dealers?|auto dealers?|test[- ]drive|trade-?in\b|\bmsrp\b|invoice price|finance manager|car lot|used car|new car|carmax|truecar|edmunds|the dealer\b|car salesm[ae]n|mechanics?\b|repair shop|auto shop|oil change|autosavvy|autosource|car[- ]buying|buying a car|bought a (new |used )?car",
    "real_estate": r"realtors?|real estate agent|buyer'?s agent|listing agent|seller'?s agent|selling agent|open house|house[- ]hunting|home inspection|inspector|offer on the house|escrow|for sale by owner|fsbo|counter[- ]?offers?|seller'?s disclosure|offer sheet|appraisal|home ?buying|buy(ing)? (a|our|the|my) (first )?(house|home)|showings?\b|offer (made|accepted)|made an offer|put in an offer|drive-by viewings?|our agent\b",
    "banking_lending": r"mortgages?|refinanc\w*|loan officer|mortgage broker|lenders?|my bank|the bank\b|bank account|credit card company|paypal|good faith estimate|credit union|overdraft|closing costs|e\*trade|etrade|loan",
    "insurance": r"insurance|insurer|insurance premiums?|deductible|claims? adjuster|geico|state farm|allstate|blue cross|health plan|warranty company|extended warranty",
    "telecom": r"comcast|verizon|at&t|at&amp;t|t-mobile|\bsprint\b|fios|cable company|internet provider|\bisp\b|broadband|\bdsl\b|phone plan|wireless plan|xfinity|spectrum|time warner|dish network|directv|sirius|xm radio|satellite radio|vonage|ooma|centurylink|qwest|cell phone (plan|contract|bill)",
    "gyms_memberships": r"gym memberships?|gym contract|24 hour fitness|la fitness|planet fitness|bally|gold's gym|personal trainers?|front desk|monthly (fee|dues)|membership fee|cancel(led|ing)? (my|the|our) (gym )?membership",
    "home_services": r"contractors?|hvac|furnace|plumbers?|roofers?|roofing|sprinkler|painters?|landscap\w*|solar|window replacement|handyman|electricians?|pest control|water softener|rainsoft|crown mould\w*",
    "furniture_mattress_retail": r"mattress(es)?|furniture|sofa|couch|rc willey|ikea|sleep number|recliner|bedroom set|showroom",
    "travel_timeshare": r"timeshares?|vacation club|airlines?|\bflights?\b|hotels?|resorts?|\bcruises?\b(?![- ]?control)",
    "b2b_software": r"enterprise sales|sales engineer|procurement|\brfp\b|account executive|per-seat|licensing costs?|vendor'?s sales",
}
DOMAIN_RES = {k: re.compile(v, re.I) for k, v in DOMAINS.items()}


def pick_domain(title, body):
    """score = body hits + 3 x title hits; need score >= 3 and (>= 2 distinct terms or a title hit)."""
    best, bestn = None, 0
    for k, rx in DOMAIN_RES.items():
        hits = [m.group(0).lower() for m in rx.finditer(body)]
        th = [m.group(0).lower() for m in rx.finditer(title or "")]
        n = len(hits) + 3 * len(th)
        distinct = len(set(hits) | set(th))
        if n >= 3 and (distinct >= 2 or th) and n > bestn:
            best, bestn = k, n
    return best or "other_personal_blog"


SELLER_RE = re.compile(
    r"\bsales ?(wo)?m[ae]n\b|sales ?persons?|salespeople|sales (reps?|guys?|lady|associates?|managers?|pitch(es)?|calls?|chat|agents?|team|tactics|clerks?)|"
    r"\bdealers?(hips?)?\b|realtors?|(real estate|insurance|leasing|listing|buyer'?s|seller'?s|selling|travel|retention|loyalty|customer service|support) agents?|mortgage brokers?|loan officers?|\blenders?\b|"
    r"customer (service|support|care|retention) (reps?|representatives?|agents?|people|person|folks|department|line|guy|lady)|\brepresentatives?\b|(sales|service|support|phone|retention|chat|insurance|verizon|comcast|at&t) reps?\b|"
    r"timeshares?|upsell\w*|hard sell|high[- ]pressure|contractors?|store managers?|the clerk|account managers?|the seller\b|the sellers\b",
    re.I,
)


# ---------------------------------------------------------------- per-blog config
def criticalmas_files(g):
    c = git(g, "rev-parse", "HEAD").strip()
    return [(c, p) for p in ls(g, c) if re.match(r"astro-site/src/content/posts/.+/index\.md$", p)]


def tillig_files(g):
    c = git(g, "rev-parse", "HEAD").strip()
    return [(c, p) for p in ls(g, c) if p.startswith("_posts/") and p.endswith(".md")]


def rfinnie_files(g):
    c = git(g, "rev-parse", "HEAD").strip()
    return [(c, p) for p in ls(g, c) if p.startswith("_posts/") and p.endswith(".md")]


def arthur_files(g):
    c = git(g, "rev-parse", "HEAD").strip()
    return [(c, p) for p in ls(g, c) if p.startswith("_posts/") and re.search(r"\.(md|markdown)$", p)]


def localshred_files(g):
    c = git(g, "rev-parse", "HEAD").strip()
    return [(c, p) for p in ls(g, c) if p.startswith(("_posts/", "_travel/")) and re.search(r"\.(md|markdown)$", p)]


DD_OLD = "e45274d49a124064123d0b977466261bf72cf5bd"


def dustin_files(g):
    head = git(g, "rev-parse", "HEAD").strip()
    old = [p for p in ls(g, DD_OLD) if p.startswith("content/blog/") and p.endswith(".md")]

    def key(p):
        parts = p.split("/")
        return parts[-2] if parts[-1] == "index.md" else re.sub(r"\.md$", "", parts[-1])

    keys = {key(p) for p in old}
    new = []
    for p in ls(g, head):
        if re.match(r"blog/[^/]+/index\.md$", p) and key(p) not in keys:
            d = key(p)[:10]
            if d < "2023-01-01":  # later posts excluded: possible AI-assisted writing (repo has CLAUDE.md)
                new.append(p)
    return [(DD_OLD, p) for p in old] + [(head, p) for p in new]


def _head_files(g, rx, keep=None):
    """The posts at the snapshot's HEAD whose path matches ``rx`` (and ``keep``, when given)."""
    c = git(g, "rev-parse", "HEAD").strip()
    return [(c, p) for p in ls(g, c) if re.match(rx, p) and (keep is None or keep(p))]


def stratton_files(g):
    # legacy 2001-2015 Hugo/WordPress archive only (the repo's newer `writing/` and dev.to posts are excluded)
    return _head_files(g, r"src/content/posts/[^/]+\.md$")


def willfaught_files(g):
    # posts before 2023 only (caution about possible AI-assisted writing in recent years)
    return _head_files(g, r"content/blog/(\d{4})-[^/]+\.md$", lambda p: p[len("content/blog/") :][:4] < "2023")


def dkranch_files(g):
    return _head_files(g, r"(_posts|projects|thoughts|writings)/.+\.md$")


def hendrix_files(g):
    # posts up to 2023 only (caution about possible AI-assisted writing in recent years)
    return _head_files(g, r"_posts/(\d{4})-[^/]+\.(md|markdown)$", lambda p: p[7:11] < "2024")


def jekyll_posts(g):
    """Every markdown post under _posts/ (benmathews, nirvdrum, bzreinhardt, bendrick92; jinghao: its _drafts/,
    3 .html posts and node/*/index.md redirect stubs are left out by this)."""
    return _head_files(g, r"_posts/[^/]+\.(md|markdown)$")


def mlindgren_files(g):
    return _head_files(g, r"source/_posts/[^/]+\.(md|markdown)$")


def ssorl_files(g):
    # published posts only (content/markdown/not-published/ left out)
    return _head_files(g, r"content/markdown/posts/[^/]+\.md$")


def juxplore_files(g):
    return _head_files(g, r"src/content/articles/[^/]+\.md$")


def rjbs_files(g):
    # posts before 2023 only (repo commits are co-authored by Claude; 2026 posts on AI-agent use)
    return _head_files(g, r"_posts/\d{4}-[^/]+\.(md|markdown)$", lambda p: p[7:11] < "2023")


def sowbug_files(g):
    # Hugo content/post/ only (original/ holds the tumblr/jekyll originals of the same posts)
    return _head_files(g, r"content/post/[^/]+\.md$")


def _front_matter_at_head(g, path):
    return split_front_matter(show(g, "HEAD", path).split("\n"))[0]


def philrw_files(g):
    # the author's own posts only: WordPress 'Link' and 'Quote' format posts (a shared article's quotation plus
    # 'via ...') and unpublished drafts are left out
    def own(p):
        fm = _front_matter_at_head(g, p)
        if re.search(r"^post_format:\s*\n\s*-\s*(Link|Quote)\s*$", fm, re.M):
            return False
        return not re.search(r"^draft:\s*true\s*$", fm, re.M)

    return _head_files(g, r"content/post/.+\.(md|markdown)$", own)


def tobymackenzie_files(g):
    # blog posts only (the repo's other pages -- about, card, index -- are left out)
    return _head_files(g, r"content/blog/\d{4}/\d{2}/\d{2}/[^/]+\.md$")


def kristopherjohnson_files(g):
    # Pelican posts (dated folders and the 2003-2004 blogspot/ imports); pages/ and files/ left out
    return _head_files(g, r"undefinedvalue/content/(\d{4}/\d{2}/\d{2}|blogspot/\d{4})/[^/]+\.md$")


def jerodsanto_files(g):
    # posts before 2023 only (caution: the 2025-2026 posts are about agentic-coding tools; repo has static/llms.txt)
    return _head_files(g, r"content/posts/(\d{4})/.+\.md$", lambda p: p[len("content/posts/") :][:4] < "2023")


def lrmikestone_files(g):
    # published posts only (one post marked 'published: false' is left out)
    def published(p):
        return not re.search(r"^published:\s*false\s*$", _front_matter_at_head(g, p), re.M)

    return _head_files(g, r"_posts/\d{4}/[^/]+\.(md|markdown)$", published)


BLOGS = {
    "digitalcolony": dict(
        repo="digitalcolony/criticalmas-archive",
        files=criticalmas_files,
        comment_mode="criticalmas",
        licence="none stated (README describes the blog; no LICENSE file)",
    ),
    "tillig": dict(
        repo="tillig/tillig.github.io",
        files=tillig_files,
        licence="CC BY 2.5 (site footer _includes/footer.html: 'Blog content licensed under the Creative Commons CC BY 2.5')",
    ),
    "rfinnie": dict(
        repo="rfinnie/jekyll-finnie",
        files=rfinnie_files,
        licence="CC-BY-SA-4.0 (per-post SPDX-License-Identifier header; LICENSES/CC-BY-SA-4.0.txt)",
    ),
    "djedi": dict(
        repo="djedi/dustindavis.me",
        files=dustin_files,
        licence="none stated for content (package.json 'ISC' covers site code only)",
    ),
    "arthurzey": dict(repo="ArthurZey/arthurzey.github.io", files=arthur_files, licence="none stated"),
    "localshred": dict(repo="localshred/localshred.github.io", files=localshred_files, licence="none stated"),
    "mattstratton": dict(
        repo="mattstratton/mattstratton-web",
        files=stratton_files,
        licence="none stated (no LICENSE file; README covers the site code only)",
    ),
    "willfaught": dict(
        repo="willfaught/willfaught.github.io",
        files=willfaught_files,
        licence="none stated (no LICENSE file; site copyright notice '© Will Faught' in hugo.toml)",
    ),
    "hendrixjoseph": dict(
        repo="hendrixjoseph/hendrixjoseph.github.io",
        files=hendrix_files,
        licence="none stated for content (LICENSE is the MIT licence of the Jekyll Now template, Copyright Barry Clark)",
    ),
    "dkranch": dict(
        repo="dkranch/www",
        files=dkranch_files,
        licence="none stated for content (LICENSE is the MIT licence of the beautiful-jekyll theme, Copyright Dean Attali)",
    ),
    "benmathews": dict(repo="benmathews/benmathews.github.io", files=jekyll_posts, licence="none stated"),
    "jinghao": dict(
        repo="jinghao/jinghao.github.com",
        files=jekyll_posts,
        licence="none stated (no LICENSE file; site footer _includes/themes/clean/default.html: '© 2006-<year> <author>')",
    ),
    "mlindgren": dict(
        repo="mlindgren/blog-archive",
        files=mlindgren_files,
        licence="CC BY-NC-SA 3.0 (site footer source/_includes/custom/footer.html: 'Copyright © 2010 - <year> <author>' with Creative Commons by-nc-sa/3.0 licence link)",
    ),
    "ssorl": dict(
        repo="ssoRL/blog",
        files=ssorl_files,
        licence="none stated for content (LICENSE MIT Copyright (c) 2015 gatsbyjs and README 'License: MIT' belong to the Gatsby starter boilerplate)",
    ),
    "juxplore": dict(
        repo="the1asa/juxplore",
        files=juxplore_files,
        licence="none stated for content (LICENSE is the MIT licence of the Gatsby starter, Copyright (c) 2018 gatsbyjs)",
    ),
    "rjbs": dict(
        repo="rjbs/rjbs.github.io",
        files=rjbs_files,
        licence="none stated for content (_jekyll-now/LICENSE is the MIT licence of the Jekyll Now template)",
    ),
    "sowbug": dict(repo="sowbug/sowbug.com", files=sowbug_files, strip_bom=True, licence="none stated"),
    "nirvdrum": dict(repo="nirvdrum/nirvdrum.com", files=jekyll_posts, licence="none stated"),
    "bzreinhardt": dict(
        repo="bzreinhardt/bzreinhardt.github.io",
        files=jekyll_posts,
        licence="none stated for content (LICENSE is the MIT licence of the beautiful-jekyll theme, Copyright Dean Attali)",
    ),
    "bendrick92": dict(
        repo="bendrick92/benscarblog",
        files=jekyll_posts,
        licence="none stated (no LICENSE file; site footer _includes/footer.html: '© <year> Ben Walters')",
    ),
    "philrw": dict(
        repo="PhilRW/blog",
        files=philrw_files,
        licence="CC BY-NC-ND 4.0 (config.toml params contentCopyright: creativecommons.org/licenses/by-nc-nd/4.0)",
    ),
    "tobymackenzie": dict(
        repo="tobymackenzie/tobymackenzie.com.data",
        files=tobymackenzie_files,
        setext_title=True,
        licence="none stated (no LICENSE file; readme.md describes the repo as the content of tobymackenzie.com)",
    ),
    "kristopherjohnson": dict(
        repo="kristopherjohnson/undefinedvalue-pelican",
        files=kristopherjohnson_files,
        pelican_meta=True,
        licence="none stated (no LICENSE file; undefinedvalue/pelicanconf.py COPYRIGHT_NOTICE '© 2003-2023 Kristopher Johnson')",
    ),
    "jerodsanto": dict(
        repo="jerodsanto/blog",
        files=jerodsanto_files,
        licence="none stated (no LICENSE file; static/llms.txt: 'Copyright © Jerod Santo. Short excerpts may be quoted with attribution.')",
    ),
    "lrmikestone": dict(
        repo="lrmikestone/jekyll.blog",
        files=lrmikestone_files,
        licence="none stated (no LICENSE file; README.md only describes the repo; no footer notice)",
    ),
}


def build(owner):
    cfg = BLOGS[owner]
    g = os.path.join(MIRROR, cfg["repo"].replace("/", "+"), "repo")
    files = cfg["files"](g)
    recs = []
    seen = set()
    stats = collections.Counter()
    per_post_domain = collections.Counter()
    for commit, path in sorted(files, key=lambda x: x[1]):
        raw = show(g, commit, path)
        if cfg.get("strip_bom") and raw.startswith("\ufeff"):
            raw = raw[1:]  # UTF-8 BOM before the front matter (line numbers unchanged)
        crlf = "\r\n" in raw
        lines = raw.split("\n")
        lines = [l[:-1] if l.endswith("\r") else l for l in lines]
        fm, start = split_front_matter(lines)
        if cfg.get("pelican_meta") and not fm:
            fm, start = split_pelican_meta(lines)
        title = fm_get(fm, "title")
        if cfg.get("setext_title") and not title:
            title, start = setext_title(lines, start)
        date = fm_get(fm, "date") or fm_get(fm, "pubDate")
        if not date:
            m = re.search(r"(\d{4}-\d{2}-\d{2})", path)
            date = m.group(1) if m else None
        author = fm_get(fm, "author")
        spdx = re.search(r"SPDX-License-Identifier:\s*(\S+)", fm)
        body_text = "\n".join(lines[start:])
        body_only = body_text.split("\n## Comments\n")[0] if cfg.get("comment_mode") else body_text
        domain = pick_domain(title, body_only)
        per_post_domain[domain] += 1
        stats["posts"] += 1
        paras = paragraphs(lines, start, cfg.get("comment_mode"))
        for k in paras:
            stats["para_" + k["kind"]] += 1
        for grp in passages_from(paras):
            text = "\n\n".join(p["text"] for p in grp)
            nw = len(words(text))
            if nw < MIN_WORDS:
                stats["skip_short"] += 1
                continue
            if len(text) > MAX_CHARS:
                stats["skip_long"] += 1
                continue
            if not english_ok(text):
                stats["skip_nonenglish"] += 1
                continue
            if text in seen:
                stats["skip_dup"] += 1
                continue
            seen.add(text)
            sm = sorted(set(m.group(0).lower() for m in SELLER_RE.finditer(text)))
            meta = dict(
                title=title,
                date=date,
                post_author=author,
                section=grp[0]["section"],
                n_words=nw,
                paragraph_lines=[[p["first"], p["last"]] for p in grp],
                seller_terms=sm,
                mentions_seller=bool(sm),
            )
            if grp[0]["section"] == "comment":
                meta["comment_author"] = grp[0]["comment_author"]
            if crlf:
                meta["crlf_file"] = True
            if grp[0]["quote"]:
                meta["blockquote"] = True
            lic = cfg["licence"]
            if spdx:
                lic = f"{spdx.group(1)} (per-post SPDX-License-Identifier header; LICENSES/ in repo)"
            recs.append(
                dict(
                    text=text,
                    domain=domain,
                    kind="customer_comment",
                    repo=cfg["repo"],
                    commit=commit,
                    path=path,
                    locator={"post": path, "lines": [grp[0]["first"], grp[-1]["last"]]},
                    licence=lic,
                    group=cfg["repo"],
                    meta=meta,
                )
            )
    if len(recs) > MAX_PASSAGES:
        stats["truncated_over_cap"] = len(recs) - MAX_PASSAGES
        recs = recs[:MAX_PASSAGES]
    out = os.path.join(OUT, f"blog_{owner}.jsonl")
    with open(out, "w") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    stats["kept"] = len(recs)
    stats["kept_mentions_seller"] = sum(r["meta"]["mentions_seller"] for r in recs)
    stats["kept_comment_passages"] = sum(r["meta"]["section"] == "comment" for r in recs)
    dom = collections.Counter(r["domain"] for r in recs)
    json.dump(
        dict(stats=stats, post_domains=per_post_domain, passage_domains=dom, commits=sorted(set(c for c, _ in files))),
        open(f"/tmp/blogpool/stats_{owner}.json", "w"),
        indent=1,
    )
    print(owner, dict(stats), dict(dom))


if __name__ == "__main__":
    for o in sys.argv[1:] or BLOGS:
        build(o)
