import json
import re
import subprocess
import urllib.parse
from collections import Counter

REPO = "/work/.mirror/remidomingues+Search-Engine-Demonstrator/repo"
COMMIT = "acd637619c1f6f6fc0e613854b6edc8b88c6b492"
LIC = ("CC BY 3.0 (upstream Davis Wiki licence, stated in the dump itself at davisWiki/Copyrights.f; "
       "attribution: Davis Wiki / daviswiki.org contributors)")
def show(path):
    return subprocess.run(["git", "-C", REPO, "show", f"{COMMIT}:{path}"], capture_output=True).stdout.decode("utf-8", "replace")
titles = [t.strip() for t in open("/tmp/dw_titles.txt")]
names = {t: urllib.parse.unquote(t).replace("_", " ") for t in titles}
LISTS = {
    "banking_lending": ["Banks", "Credit_Unions"],
    "furniture_mattress_retail": ["Furniture_Stores", "Jewelry"],
    "gyms_memberships": ["Gyms_%26_Fitness"],
    "insurance": ["Auto_Insurance", "Insurance"],
    "auto_service": ["Automobile_Repair"],
    "home_services": ["Movers", "Plumbers", "Pest_Control", "Solar_Power"],
    "telecom": ["Internet_Service_Providers"],
    "travel_timeshare": ["Travel_Agencies"],
    "real_estate": ["Real_Estate"],
    "car_dealers": ["Car_Dealerships"],
}
PATTERNS = {
    "car_dealers": r"^(Hanlees|University_Honda|Swift_|Davis_Pontiac|ECE_Enterprises|Autohouse|.*Dealer(ship)?s?$|.*_Motors$|Carmax|CarMax)",
    "insurance": r"(Insurance|Allstate|State_Farm|Farmers|GEICO|Geico|AAA$)",
    "banking_lending": r"^(Bank_of_|Wells_Fargo|Chase$|Citibank|US_Bank|U.S._Bank|Union_Bank|Washington_Mutual|WaMu|.*Credit_Union|First_Northern_Bank$|AmericanWest_Bank|Countrywide|Certified_Mortgage|Edward_Jones|H%26R_Block|.*Mortgage)",
    "telecom": r"^(Comcast|AT%26T|ATT$|Verizon|Sprint|T-Mobile|TMobile|Cingular|Absolute_Cellular|Campus_Cellular|DSL$|Omsoft|Surewest|SureWest|Dish_Network|DirecTV|Davis_Community_Network|Wave_Broadband|Metro_PCS|MetroPCS)",
    "furniture_mattress_retail": r"(Furniture|Mattress|Futon|Best_Buy|Radio_Shack|RadioShack|Sears|Jewel|Appliance|Target$|Costco|Davis_Carpet_Sales)",
    "gyms_memberships": r"^(24_Hour_Fitness|Davis_Athletic_Club|Davis_Swim_and_Fitness_Club|Curves$|.*Fitness$|.*_Gym$|Gold%27s_Gym|In-Shape|In_Shape|Anytime_Fitness|Crunch)",
    "home_services": r"(Plumb|Pest|Roof|Heating|Solar|Mover|Contractor|Landscap|Electric$|Handyman|Carpet_C|Window|Painting|Locksmith|Construction|HVAC|Air_Conditioning)",
    "auto_service": r"(Auto_Repair|Automotive|Auto_Care|Auto_Body|Auto_Works|Tire|Midas|Jiffy|Meineke|Smog|Brake|Transmission|Muffler|Mechanic|Lube)",
    "travel_timeshare": r"(Travel$|Travel_|Timeshare)",
}
EXCLUDE = r"(Course|Lab|Undergraduate|Taskforce|Theat|Department|Engineering|Users|Project|Bench|Robber|Food_Bank|Time_?Bank|Blimp|Course_Reviews|Wells_Project|Electric_Vehicles|Electric_Car|Trike|Energy_Bars|Dishonesty|Fair|Speeds|Face_Painting|Paint_Out|Paintball|Gymnastics|Beetles|Taxi|Cassatt|Fordham|Gafford|Hatteras|Building$)"
rental = set()
for split in ("train", "dev", "test"):
    for l in open(f"/work/main/data/real/{split}.jsonl"):
        r = json.loads(l)
        if r["provenance"]["dataset"] == "daviswiki_rental_comments":
            rental.add(r["provenance"]["path"])
chosen = {}
for dom, lists in LISTS.items():
    for lp in lists:
        txt = show(f"davisWiki/{lp}.f")
        for t in titles:
            n = names[t]
            if len(n) >= 6 and re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", txt) and not re.search(EXCLUDE, t):
                chosen.setdefault(t, dom)
for dom, pat in PATTERNS.items():
    for t in titles:
        if re.search(pat, t) and not re.search(EXCLUDE, t):
            chosen.setdefault(t, dom)
for lists in LISTS.values():
    for lp in lists:
        chosen.pop(lp, None)
NOT_BUSINESS = {"Post Office", "Covell Village", "University Construction", "Dentists", "The Graduate", "Raccoons",
    "Roof Rats", "West Village", "Solano Park", "Village Homes", "Christmas", "Moller International",
    "Departed Businesses", "Whole Earth Festival", "All Things Right And Relevant", "Woodland",
    "Healthy Restaurant Eating", "Obesity Treatment Center", "Yolo County", "Hotel and Conference Center",
    "Wells Fargo Controversy", "Team in Training", "The Freecycle Network", "Steve Pop", "MAX Gold", "Darish",
    "Sah Corporation", "Farmers Market Tabling", "Davis Farmers Market", "UC Davis Farmers Market",
    "Cal Aggie Flying Farmers", "Fred T. Korematsu Elementary School", "Tibet Nepal", "Himalaya Gifts", "Redfield Machine",
    "ResNet", "Pinkadot", "A Better Place to Bead", "De Colores", "Tots Trade Center", "Nestware"}
MORE = {
    "furniture_mattress_retail": ["Bicycle_Shops", "Bike_Shops", "Computers_and_Electronics_Vendors", "Optometrists",
                                  "Optometrists_and_Ophthalmologists", "Eye_Doctors", "Shoe_Stores_%26_Repair",
                                  "Clothing_Stores"],
    "telecom": ["Cellular_Phone"],
    "real_estate": ["Realtors", "Property_Management"],
    "travel_timeshare": ["Car_Rental"],
}
old_rules = set(chosen)
for dom, lists in MORE.items():
    for lp in lists:
        txt = show(f"davisWiki/{lp}.f")
        for t in titles:
            n = names[t]
            if t in old_rules or t in lists or len(n) < 6 or re.search(EXCLUDE, t):
                continue
            if re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", txt):
                chosen.setdefault(t, dom)
    for lp in lists:
        chosen.pop(lp, None)
for t in list(chosen):
    if names[t] in NOT_BUSINESS or names[t].startswith("Fred T") or re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z]+)+", t):
        chosen.pop(t)
START = re.compile(r"^(\d{8} \d{2}:\d{2}:\d{2}) nbsp ?")
out, skipped = [], Counter()
seen = set()
for t, dom in sorted(chosen.items()):
    path = f"davisWiki/{t}.f"
    if path in rental:
        continue
    lines = show(path).split("\n")
    starts = [i for i, l in enumerate(lines) if START.match(l)]
    for k, i in enumerate(starts):
        j = (starts[k + 1] if k + 1 < len(starts) else len(lines))
        block = lines[i:j]
        while block and not block[-1].strip():
            block.pop()
        ts = START.match(block[0]).group(1)
        text = START.sub("", "\n".join(block), count=1).strip()
        if len(text.split()) < 15:
            skipped["short"] += 1; continue
        if len(text) > 5000:
            skipped["long"] += 1; continue
        key = " ".join(text.lower().split())
        if key in seen:
            skipped["dup"] += 1; continue
        seen.add(key)
        user = re.findall(r"Users/(\w+)", text)
        out.append({"text": text, "domain": dom, "kind": "customer_comment", "repo": "remidomingues/Search-Engine-Demonstrator",
                    "commit": COMMIT, "path": path,
                    "locator": {"line_start": i + 1, "line_end": i + len(block), "rule": "lines line_start..line_end (1-based, inclusive) joined with \\n, minus the leading 'YYYYMMDD HH:MM:SS nbsp ' prefix, whitespace-trimmed"},
                    "licence": LIC, "group": names[t], "meta": {"timestamp": ts, "user": user[-1] if user else None, "page": names[t]}})
by_slug = {}
for r in out:
    new_page = r["path"][len("davisWiki/"):-2] not in old_rules
    dom = r["domain"]
    slug = f"daviswiki_{dom}" if dom not in ("real_estate", "travel_timeshare") else ("daviswiki_real_estate" if dom == "real_estate" else "daviswiki_travel")
    r["new_page"] = new_page
    by_slug.setdefault(slug, []).append(r)
for slug, rows in by_slug.items():
    with open(f"/work/corpus/pool/{slug}.jsonl", "w") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(slug, len(rows), "on new pages", sum(r["new_page"] for r in rows))
print(len(out), skipped, Counter(r["domain"] for r in out))
pages = Counter((r["domain"], r["group"]) for r in out)
for dom in LISTS:
    print(dom, [(g, n) for (d, g), n in pages.most_common() if d == dom][:25])
