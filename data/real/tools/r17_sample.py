"""Round 17 draw: passages of six more personal blogs, found by round 16's collecting session (a car blog with
dealer and CarMax purchases; Comcast, fibre and house-hunting posts; phone companies, an engagement ring, an
electronics chain), drawn as round 12 drew its blogs (r12_sample.draw_blogs). Run from a folder holding pool/ and
rounds/.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from r12_sample import draw_blogs, row_out, write  # noqa: E402
from sample import eligible_rows, taken_and_test_groups  # noqa: E402

ROUND = "r17"
BLOGS = {  # slug -> (topic passages at most, other passages at random)
    "blog_bendrick92": (150, 10),
    "blog_philrw": (150, 10),
    "blog_tobymackenzie": (80, 10),
    "blog_kristopherjohnson": (100, 10),
    "blog_jerodsanto": (60, 5),
    "blog_lrmikestone": (60, 5),
}

# the posts the collecting session picked by hand as first-hand dealings with a seller (their notes in
# data/real/sources/personal_blogs.md): every passage of them is read ('enriched'), whatever domain the pool's
# word heuristic gave the post (it tagged the Best Buy and engagement-ring posts as other_personal_blog)
PICKED = {
    "blog_bendrick92": [
        "_posts/2017-08-09-buying-a-wrx.md",
        "_posts/2017-08-14-taking-delivery-of-my-wrx.md",
        "_posts/2019-12-07-wrx-clutch-issues.md",
        "_posts/2020-02-29-buying-from-carmax.md",
        "_posts/2022-03-27-wrx-replacement.md",
        "_posts/2022-03-19-wrx-goodbye.md",
    ],
    "blog_philrw": [
        "content/post/2011/2011-12-14-an-open-letter-to-comcast-customer-support.markdown",
        "content/post/2016/2016-12-08-comcast-gigabit-pro-no-go.markdown",
        "content/post/2018/2018-03-06-o-comcast-where-art-thou.markdown",
        "content/post/2019/2019-04-16-the-great-ftth-saga.md",
        "content/post/2026-01-22-paperless-billing.md",
        "content/post/2007/2007-02-06-some-word-of-mouth-marketing-biting-back-at-poor-customer-service.markdown",
        "content/post/2010/2010-05-10-applecares.markdown",
        "content/post/2011/2011-02-06-a-contract-is-what-exactly.markdown",
        "content/post/2011/2011-02-08-lets-not-make-a-deal.markdown",
        "content/post/2010/2010-12-09-possible-investment-opportunity-me.markdown",
        "content/post/2015/2015-03-15-denver-boulder-house-hunt-update-buyer-be-rich.markdown",
        "content/post/2015/2015-02-12-how-to-house-hunt.markdown",
        "content/post/2017/2017-11-17-decisions-made-easy.markdown",
        "content/post/2018/2018-10-22-new-roof.md",
        "content/post/2017/2017-02-01-ups-misdelivery-public-shaming-part-ii.markdown",
        "content/post/2017/2017-02-02-ups-misdelivery-public-shaming-part-iii.markdown",
        "content/post/2025/2025-12-02-rx-refill.md",
    ],
    "blog_tobymackenzie": [
        "content/blog/2019/01/06/t-mobile-plan-change-debacle.md",
        "content/blog/2020/12/06/home-internet-again.md",
        "content/blog/2019/08/19/new-phone-pixel-3a.md",
        "content/blog/2020/12/12/3163.md",
        "content/blog/2023/09/13/4139.md",
        "content/blog/2021/07/13/new-laptop-lenovo-yoga-7i.md",
    ],
    "blog_kristopherjohnson": [
        "undefinedvalue/content/2008/01/30/buying-engagement-ring.md",
        "undefinedvalue/content/2013/01/24/directv-customer-service-sucks-and-they-are-watching-me.md",
        "undefinedvalue/content/2013/04/13/home-depot-two-year-replacement-plan-doesnt.md",
        "undefinedvalue/content/2013/02/06/amazon-marketplace-5-star-rating-extortion.md",
        "undefinedvalue/content/2011/03/31/apple-store-needs-checkout-counter.md",
        "undefinedvalue/content/blogspot/2003/my-failed-contracting-career.md",
    ],
    "blog_jerodsanto": ["content/posts/2012/03-best-buy-considered-harmful.md"],
    "blog_lrmikestone": [
        "_posts/2024/2024-08-30-house-of-failure.md",
        "_posts/2025/2025-01-19-new-house.md",
        "_posts/2011/2011-05-31-iphone-3gs-the-worst-phone-ive-ever-owned.md",
    ],
}


def draw_picked(taken: set, test_groups: set) -> list[dict]:
    out = []
    for slug, paths in PICKED.items():
        rows = [(rid, row) for rid, row in eligible_rows(slug, taken, test_groups) if row["path"] in paths]
        for rid, row in rows:
            out.append(row_out(rid, slug, "enriched", row, locator={"paragraphs": row["meta"]["paragraph_lines"]},
                               one_group=True))
            taken.add(rid)
        print(f"{slug}: {len(rows)} passages of {len(paths)} picked posts")
    return out


if __name__ == "__main__":
    taken, test_groups = taken_and_test_groups(ROUND)
    picked = draw_picked(taken, test_groups)
    write(ROUND, picked + draw_blogs(ROUND, BLOGS, taken, test_groups))
