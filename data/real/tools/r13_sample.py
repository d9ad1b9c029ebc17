"""Round 13 draw: passages of nine more personal blogs, each with one or a few first-hand posts about a seller
(a used-car saga, van dealerships, a dealer's extended warranty, solar quotes, phone companies, a house
purchase), drawn as round 12 drew its blogs (r12_sample.draw_blogs). rjbs's blog has 246 topic passages,
mostly conference trips its words tag as travel: 80 of them. Run from a folder holding pool/ and rounds/.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from r12_sample import draw_blogs, write  # noqa: E402
from sample import taken_and_test_groups  # noqa: E402

ROUND = "r13"
BLOGS = {  # slug -> (topic passages at most, other passages at random)
    "blog_jinghao": (300, 10),
    "blog_mlindgren": (300, 10),
    "blog_ssorl": (300, 10),
    "blog_juxplore": (300, 10),
    "blog_rjbs": (80, 10),
    "blog_sowbug": (300, 10),
    "blog_nirvdrum": (300, 5),
    "blog_bzreinhardt": (300, 10),
    "blog_benmathews": (300, 5),
}

if __name__ == "__main__":
    taken, test_groups = taken_and_test_groups(ROUND)
    write(ROUND, draw_blogs(ROUND, BLOGS, taken, test_groups))
