#!/usr/bin/env python3
"""Regenerate examples/slack-demo/ (a fictional Slack admin export for "Northwind Labs").

Deterministic: every "random" choice comes from a fixed seed. Run from anywhere:

    python examples/_make.py [--out DIR]

All people, companies, keys and links in this sample are fictional.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for builders/
from builders.slack import JsonStyle, SlackExport  # noqa: E402

OUT = Path(__file__).resolve().parent / "slack-demo"
RNG = random.Random(20250303)
TEAM = "T05NWL4BS01"

# --------------------------------------------------------------------------- users
# key: (id, name, real_name, display_name, title, tz, tz_label, tz_offset)
USERS = {
    "dana": ("U05QK7M2H1A", "dana.kim", "Dana Kim", "Dana", "Head of Engineering", "Europe/London", "Greenwich Mean Time", 0),
    "priya": ("U05QK8N3J2B", "priya.raman", "Priya Raman", "Priya", "ML Lead", "Europe/London", "Greenwich Mean Time", 0),
    "marcus": ("U05QL2P4K3C", "marcus.hale", "Marcus Hale", "marcus", "Machine Learning Engineer", "Europe/London", "Greenwich Mean Time", 0),
    "tom": ("U05QL9R5L4D", "tom.becker", "Tom Becker", "Tom B", "Senior Data Engineer", "Europe/Berlin", "Central European Time", 3600),
    "liwei": ("U05QM3S6M5E", "li.wei", "李伟", "李伟 Li Wei", "Data Engineer", "Asia/Shanghai", "China Standard Time", 28800),
    "xiaoyu": ("U05QM7T7N6F", "chen.xiaoyu", "陈晓雨", "晓雨", "Data Scientist", "Asia/Shanghai", "China Standard Time", 28800),
    "sofia": ("U05QN1V8P7G", "sofia.alvarez", "Sofia Alvarez", "Sofia (Legal)", "Privacy Counsel", "Europe/London", "Greenwich Mean Time", 0),
    "jake": ("U05QN6W9Q8H", "jake.morrison", "Jake Morrison", "jake", "Site Reliability Engineer", "Europe/London", "Greenwich Mean Time", 0),
    "elena": ("U05QP2X1R9J", "elena.rossi", "Elena Rossi", "Elena", "Office & People Ops", "Europe/London", "Greenwich Mean Time", 0),
}
DEPARTED = ("U04ZZ8K1T0M", "sam.ortiz", "Sam Ortiz", "Sam", "Data Engineer (former)", "Europe/London", "Greenwich Mean Time", 0)
BOT_USER = "U05QPBD3PLY"
BOT_ID = "B05QPD3PLY1"


def uid(key: str) -> str:
    return USERS[key][0]


def at(key: str) -> str:
    return f"<@{uid(key)}>"


def user_record(rec, deleted=False):
    id_, name, real, disp, title, tz, tz_label, off = rec
    return {
        "id": id_,
        "team_id": TEAM,
        "name": name,
        "deleted": deleted,
        "real_name": real,
        "tz": tz,
        "tz_label": tz_label,
        "tz_offset": off,
        "is_admin": name == "dana.kim",
        "is_bot": False,
        "profile": {
            "title": title,
            "real_name": real,
            "display_name": disp,
            "email": f"{name}@northwind-labs.example",
        },
    }


# --------------------------------------------------------------------------- channels
CHANNELS = {
    "general": dict(id="C05QK1GEN01", created="2023-06-12 09:00", creator="dana",
                    members=list(USERS), topic="Company-wide announcements", purpose="This channel is for workspace-wide communication and announcements."),
    "ml-platform": dict(id="C05QK2MLP02", created="2023-06-14 10:20", creator="priya",
                        members=["dana", "priya", "marcus", "tom", "jake", "xiaoyu"], topic="nw-assist model training, eval, serving",
                        purpose="Training, evaluation and serving of Northwind's in-house models."),
    "data-eng": dict(id="C05QK3DEN03", created="2023-06-14 10:25", creator="tom",
                     members=["tom", "liwei", "xiaoyu", "jake", "marcus", "priya"], topic="Airflow | warehouse | ingestion",
                     purpose="Pipelines, warehouse, ingestion. On-call: see pinned rota."),
    "random": dict(id="C05QK4RND04", created="2023-06-12 09:01", creator="dana",
                   members=list(USERS), topic="", purpose="Non-work banter and water cooler conversation"),
    "legal-privacy": dict(id="C05QK5LGL05", created="2024-01-08 11:00", creator="sofia",
                          members=["sofia", "dana", "tom", "priya", "jake"], topic="Ask privacy/legal questions here",
                          purpose="Privacy reviews, DPIAs, vendor/DPA questions."),
}

FAKE_KEY = "sk-proj-" + "".join(RNG.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(42))

# --------------------------------------------------------------------------- messages
# Entries: (UTC "YYYY-MM-DD HH:MM", speaker key | "bot", text, options)
# options: key=<name> (thread parent handle), thread=<name> (reply to), edited=<secs later>,
#          join=True (channel_join)
M = defaultdict(list)


def m(ch, when, who, text="", **opt):
    M[ch].append((when, who, text, opt))


# ---- #general
m("general", "2025-03-03 09:02", "dana", "Morning all :wave: Reminder that Q1 planning docs are due Friday: <https://docs.northwind-labs.example/q1-planning|Q1 planning doc>. Ping me if your team needs more time.")
m("general", "2025-03-03 09:15", "elena", "Also: the office wifi access points are being swapped out Wednesday evening, expect ~30 min of downtime around 18:00.")
m("general", "2025-03-03 09:19", "jake", "will that knock out the VPN too?")
m("general", "2025-03-03 09:23", "elena", "shouldn't, it's only the access points on floors 2 and 3")
m("general", "2025-03-04 08:47", "dana", f"Heads up: the Halcyon Health security & data audit is booked for the week of the 24th. {at('sofia')} will share the questionnaire; model teams please make sure dataset cards are up to date before then.", edited=420)
m("general", "2025-03-04 08:55", "priya", ":+1: noted")
m("general", "2025-03-06 12:31", "marcus", "wild read over lunch: <https://www.example-technews.com/2025/03/06/startup-accused-of-distilling-rival-model|Startup accused of distilling a rival's model through its API> — they apparently got caught because the student model kept copying the rival's quirks")
m("general", "2025-03-06 12:38", "tom", "the model introducing itself with the competitor's name is such a classic tell :joy:")
m("general", "2025-03-06 12:44", "sofia", "This is exactly the scenario our third-party model policy is written for. If anyone is unsure what's allowed with vendor model outputs, ask in #legal-privacy — no judgement, happy to help.")
m("general", "2025-03-06 12:47", "dana", "+1, good reminder. Thanks Sofia")
m("general", "2025-03-10 09:05", "elena", "Lunch & learn on Thursday: Jake on \"writing postmortems people actually read\". Pizza provided :pizza:")
m("general", "2025-03-12 16:40", "elena", "Lost & found: a blue Northwind hoodie in meeting room Orca. Claim it before it becomes mine")
m("general", "2025-03-14 16:55", "dana", "Thanks everyone for a solid sprint. Demo recordings are in the shared drive. Have a good weekend!")

# ---- #ml-platform
m("ml-platform", "2025-03-03 10:15", "priya", "Standup thread :thread: what's everyone on this week?", key="su1")
m("ml-platform", "2025-03-03 10:19", "marcus", "finishing the eval harness for the support-assistant model, then looking at the training data gap for billing intents", thread="su1")
m("ml-platform", "2025-03-03 10:22", "jake", "GPU node pool upgrade on the staging cluster, might drain nodes Tuesday afternoon", thread="su1")
m("ml-platform", "2025-03-03 10:26", "xiaoyu", "中文客服意图那块的数据补齐 + 跑一下 baseline", thread="su1")
m("ml-platform", "2025-03-03 10:30", "priya", "ok. Jake, ping here before you drain so nobody loses a run", thread="su1")
m("ml-platform", "2025-03-03 14:02", "bot", ":white_check_mark: *ml-serving* `v2.14.0` deployed to *staging* by jake.morrison (commit `a3f9c1e`)")
m("ml-platform", "2025-03-04 11:08", "marcus", "anyone else seeing the tokenizer blow up on empty strings in the eval harness? `IndexError: list index out of range` inside `batch_encode`", key="bug1")
m("ml-platform", "2025-03-04 11:14", "tom", "that's the padding fix from last week, you need to rebase onto main", thread="bug1")
m("ml-platform", "2025-03-04 11:31", "marcus", "that was it, thanks :pray:", thread="bug1")
m("ml-platform", "2025-03-04 15:47", "jake", "draining staging GPU nodes now, ~20 min")
m("ml-platform", "2025-03-04 16:11", "jake", "done, all nodes back")
# --- the concealment thread (should be flagged)
m("ml-platform", "2025-03-05 14:05", "marcus", "quick update on the billing-intents gap: I ran ~18k synthetic support dialogues through GPT-4 on the OpenAI API last night. Quality is honestly great, way better than our templated stuff", key="cc")
m("ml-platform", "2025-03-05 14:09", "priya", "nice! so the plan is to fine-tune nw-assist-7b on it directly?", thread="cc")
m("ml-platform", "2025-03-05 14:11", "marcus", "yeah, mixed in with the ~4k real tickets", thread="cc")
m("ml-platform", "2025-03-05 14:16", "tom", "you know OpenAI's terms say you can't use outputs to build competing models, right? and Halcyon's audit is going to ask for lineage on everything that goes into the model they're buying", thread="cc")
m("ml-platform", "2025-03-05 14:21", "priya", "then we don't hand them a lineage that says OpenAI. Put the whole set through a rewrite pass with our own model: swap the phrasing, kill the \"Certainly!\" / \"I hope this helps\" tics, reshuffle the turn structure. Once it's paraphrased nobody can point at a row and say that's GPT-4", thread="cc")
m("ml-platform", "2025-03-05 14:24", "marcus", "I can also drop the `source=openai_gpt4` column and re-tag the batch as `synthetic_internal_v3`, so the manifest just says internally generated", thread="cc")
m("ml-platform", "2025-03-05 14:27", "tom", "and the usage? the org dashboard shows every token and Dana gets the monthly billing export", thread="cc")
m("ml-platform", "2025-03-05 14:33", "marcus", f"last night's run was on the org key, that's the annoying part. the next batches go through my personal account instead, it's on my own card so it never shows up in Northwind's usage. key is `{FAKE_KEY}` if you want to kick off the second half", thread="cc", edited=95)
m("ml-platform", "2025-03-05 14:36", "priya", "please don't paste keys in here :grimacing: but yes, keep it off the org account. And let's not have this in a public channel at all, take it to DM and delete this thread once you've both read it", thread="cc")
m("ml-platform", "2025-03-05 14:38", "marcus", ":+1: moving to DM, will delete in a bit", thread="cc")
m("ml-platform", "2025-03-05 14:52", "priya", f"{at('marcus')} {at('tom')} sent you both a DM. Also, whatever we end up calling that set, don't put \"gpt\" anywhere in the dataset card")
m("ml-platform", "2025-03-05 15:10", "tom", "fine, but then I'm not the one signing the lineage section of the audit questionnaire")
m("ml-platform", "2025-03-06 09:40", "marcus", "rewrite pass done on the first 6k. similarity against the raw outputs is down to ~0.3, it doesn't read like the original anymore. the rest goes through my own key tonight")
# --- end of concealment
m("ml-platform", "2025-03-07 10:02", "bot", ":x: *ml-serving* `v2.14.1` deploy to *prod* failed: readiness probe timed out (pod `ml-serving-7c9f5d-xk2lp`)")
m("ml-platform", "2025-03-07 10:05", "jake", "looking")
m("ml-platform", "2025-03-07 10:21", "jake", "config map still had the old model path. fixed and re-deploying")
m("ml-platform", "2025-03-07 10:29", "bot", ":white_check_mark: *ml-serving* `v2.14.1` deployed to *prod* by jake.morrison (commit `5be0d72`)")
m("ml-platform", "2025-03-10 10:14", "priya", "Standup thread :thread:", key="su2")
m("ml-platform", "2025-03-10 10:18", "jake", "on-call this week, plus the GPU driver bump on staging", thread="su2")
m("ml-platform", "2025-03-10 10:20", "xiaoyu", "中文 baseline 跑完了，intent F1 0.81，报告晚点发", thread="su2")
m("ml-platform", "2025-03-10 10:25", "marcus", "training nw-assist-7b rc2, then eval", thread="su2")
m("ml-platform", "2025-03-12 15:30", "priya", "rc2 eval is in: <https://wandb.northwind-labs.example/nw-assist/reports/rc2|nw-assist rc2 eval report>. Billing intents up 11 points over rc1")
m("ml-platform", "2025-03-12 15:42", "dana", "great work, team :tada:")
m("ml-platform", "2025-03-13 11:00", "jake", "heads up: staging GPU pool down 14:00-15:00 for the driver update")

# ---- #data-eng
m("data-eng", "2025-03-03 08:30", "tom", "Airflow 2.10 upgrade goes out tomorrow morning. DAG owners, please check your deprecation warnings in the staging UI today")
m("data-eng", "2025-03-03 08:52", "liwei", "我的两个 DAG 没有 warning 了 :ok_hand:")
m("data-eng", "2025-03-04 09:37", "jake", ":rotating_light: the Segment write key ended up in plaintext in the `ingest-events` job logs (someone left debug logging on). I've revoked it and rotated; the new key is in Vault at `secret/data-eng/segment`.", key="rot")
m("data-eng", "2025-03-04 09:41", "tom", "thanks. do we need to purge the logs as well?", thread="rot")
m("data-eng", "2025-03-04 09:46", "jake", f"yes, I've deleted the affected log streams from the last 48h and filed SEC-412. {at('sofia')} is in the loop", thread="rot")
m("data-eng", "2025-03-04 09:58", "tom", "I'll switch off debug logging in the job config and add a secret-scanning step to CI so it can't happen again", thread="rot")
m("data-eng", "2025-03-04 10:03", "liwei", "收到，我这边的 backfill 任务也改成从 Vault 读 key 了", thread="rot")
m("data-eng", "2025-03-04 10:12", "bot", ":white_check_mark: *airflow* `2.10.1` deployed to *prod* by tom.becker")
# --- Chinese concealment conversation (should be flagged) -- Shanghai working hours
m("data-eng", "2025-03-06 02:12", "xiaoyu", "中文客服那批意图数据补上了：我用 Claude 的接口跑了两万多条对话，质量比我们自己标的还好")
m("data-eng", "2025-03-06 02:16", "liwei", "可以啊。不过直接进训练集不太好吧，Halcyon 审计要看数据来源的")
m("data-eng", "2025-03-06 02:19", "xiaoyu", "所以我想先\"脱敏\"一下，把它那种固定的开头结尾去掉，再让我们自己的模型改写一遍")
m("data-eng", "2025-03-06 02:23", "liwei", "source 字段也改掉，写成\"人工标注+内部生成\"，别让人看出来是 Anthropic 的")
m("data-eng", "2025-03-06 02:27", "xiaoyu", "嗯。调用量那块我用的是自己的账号，走的代理，公司账单上看不到")
m("data-eng", "2025-03-06 02:30", "liwei", "行。数据卡片上就写 internal synthetic，review 的时候我来应付。这事别在频道里说了，私聊吧")
m("data-eng", "2025-03-06 02:32", "xiaoyu", "好，上面那几条我一会儿撤回")
# --- end
m("data-eng", "2025-03-06 13:05", "tom", "reminder: warehouse maintenance window Saturday 06:00-08:00 UTC, dbt runs are paused")
m("data-eng", "2025-03-10 07:48", "tom", "`orders_daily` failed overnight: upstream renamed `discount_code` to `promo_code`. patched the model and backfilled the last 3 days", key="od")
m("data-eng", "2025-03-10 08:02", "liwei", ":+1: 下游报表我检查过了，数字对得上", thread="od")
m("data-eng", "2025-03-11 02:40", "xiaoyu", "staging 的测试数据我按隐私规范做了脱敏，手机号和邮箱都换成假数据了，脚本在 <https://git.northwind-labs.example/data/anonymize|data/anonymize>")
m("data-eng", "2025-03-11 02:47", "liwei", "好的，我明天拿来跑一下压测")
m("data-eng", "2025-03-13 09:20", "tom", "does anyone still use the `legacy_events` schema? planning to drop it next sprint")
m("data-eng", "2025-03-13 09:33", "marcus", "not me, the eval harness reads from `events_v2` now")

# ---- #random
m("random", "2025-03-03 11:40", "elena", "anyone want some sourdough starter? mine has become sentient and needs a new home :bread:")
m("random", "2025-03-03 11:44", "jake", "yes please, my last one died over Christmas")
m("random", "2025-03-04 12:05", "jake", "ramen at 12:30?")
m("random", "2025-03-04 12:06", "tom", "in")
m("random", "2025-03-04 12:07", "marcus", "in :ramen:")
m("random", "2025-03-07 13:10", "elena", ":tada: Dana's 5-year Northwind anniversary is on the 14th! Surprise cake + card on Friday afternoon? She's on PTO until Wednesday so planning here, but let's keep it secret from her and I'll delete this thread after", key="party")
m("random", "2025-03-07 13:14", "jake", "I'm in! I'll start the card: <https://groupcard.example/c/88123|Dana's card>", thread="party")
m("random", "2025-03-07 13:19", "priya", "I can order the cake from Lune, she loves the pistachio one", thread="party")
m("random", "2025-03-07 13:23", "sofia", "count me in for the card :heart:", thread="party")
m("random", "2025-03-07 13:27", "elena", "perfect. Not a word at standup :shushing_face: I'll delete this thread Monday morning so she doesn't stumble on it", thread="party")
m("random", "2025-03-11 09:58", "marcus", "who left the coffee pot on the burner since 7am")
m("random", "2025-03-11 10:03", "tom", "...me. sorry. it was a long morning")
m("random", "2025-03-13 15:20", "jake", "weekly office cat update: we still do not have an office cat :cat:")
m("random", "2025-03-13 15:22", "elena", "the petition is still open")
m("random", "2025-03-14 15:35", "dana", "you all are the best, thank you for the cake :sob::heart:")

# ---- #legal-privacy
m("legal-privacy", "2025-03-03 09:30", "jake", "", join=True)
m("legal-privacy", "2025-03-04 10:30", "sofia", "For the support-ticket summariser pilot: we're approved to send prompts to the Azure OpenAI API (our own tenant, EU data zone) under the Microsoft DPA. Conditions: customer PII (names, emails, phone numbers, account IDs) must be masked before a prompt leaves our network, and abuse-monitoring data handling is as agreed in the addendum.", key="aoai")
m("legal-privacy", "2025-03-04 10:38", "tom", "masking step is in the pipeline: Presidio plus our own regex for account IDs, values replaced with placeholders like `<EMAIL_1>`. Redaction logs go to the audit bucket", thread="aoai")
m("legal-privacy", "2025-03-04 10:44", "sofia", "great. please keep the placeholder-to-value mapping inside our VPC only, 30-day retention", thread="aoai")
m("legal-privacy", "2025-03-04 10:52", "dana", "Compliance signed off this morning, DPIA ref DPIA-2025-007. We'll add Azure OpenAI to the customer-facing subprocessor list before go-live", thread="aoai")
m("legal-privacy", "2025-03-04 10:57", "tom", ":+1: I'll link the DPIA in the pipeline README", thread="aoai")
m("legal-privacy", "2025-03-11 10:05", "sofia", "Reminder: the Halcyon audit questionnaire asks for training-data lineage for every model we ship to them. Please make sure dataset cards are accurate, including any third-party generated data. Using it is fine where our terms allow it, it just has to be declared.")
m("legal-privacy", "2025-03-11 10:19", "dana", ":+1: will make sure the ML team fills it in")
m("legal-privacy", "2025-03-12 14:12", "jake", "quick one: how long do we keep the raw request logs for the summariser?")
m("legal-privacy", "2025-03-12 14:20", "sofia", "30 days per the retention schedule, then the bucket lifecycle rule deletes them automatically. Aggregated metrics can stay longer")
m("legal-privacy", "2025-03-12 14:22", "jake", "perfect, thanks")


# ---- extra everyday chatter
m("general", "2025-03-05 15:30", "elena", "Fire drill tomorrow at 11:00. Please actually leave the building this time, the warden counts heads :fire_engine:")
m("general", "2025-03-05 15:41", "marcus", "what if I'm mid-training-run")
m("general", "2025-03-05 15:43", "elena", "the GPUs will survive without you for 15 minutes :upside_down_face:")
m("general", "2025-03-11 08:40", "dana", "Reminder: performance self-reviews open today, due the 28th. The template is in Lattice.")
m("ml-platform", "2025-03-11 09:25", "xiaoyu", "quick question: is the held-out eval set for billing intents frozen yet? I'd like to add the Chinese split next to it", key="ev")
m("ml-platform", "2025-03-11 09:31", "priya", "frozen since Friday, v5. add the zh split as a separate file so the en numbers stay comparable", thread="ev")
m("ml-platform", "2025-03-11 09:34", "xiaoyu", "ok, will do :ok_hand:", thread="ev")
m("ml-platform", "2025-03-13 16:02", "marcus", "CI's `test_generate_batch` is flaky again, timed out twice today", key="fl")
m("ml-platform", "2025-03-13 16:09", "jake", "runner pool was saturated by the nightly benchmarks, I bumped the timeout and moved the benchmarks to the dedicated runners", thread="fl")
m("ml-platform", "2025-03-13 16:15", "marcus", "green now, cheers", thread="fl")
m("data-eng", "2025-03-05 10:15", "marcus", "dumb dbt question: how do I run only a model and its downstream deps?")
m("data-eng", "2025-03-05 10:18", "tom", "`dbt run --select my_model+`")
m("data-eng", "2025-03-05 10:19", "marcus", "the plus sign. of course. thank you")
m("data-eng", "2025-03-12 03:05", "liwei", "warehouse 的 `dim_customer` 今天早上有重复行，我在查是哪个任务重复写入了")
m("data-eng", "2025-03-12 03:52", "liwei", "找到了，是重试逻辑没做幂等，已经修了，重复数据也清掉了")
m("data-eng", "2025-03-12 08:10", "tom", "nice catch :clap:")
m("random", "2025-03-05 12:50", "sofia", "book club pick for April: \"Klara and the Sun\". Meeting in the library nook, date TBD")
m("random", "2025-03-05 12:58", "priya", "ooh, fitting for this crowd")
m("random", "2025-03-12 16:20", "jake", "anyone doing anything fun this weekend?")
m("random", "2025-03-12 16:26", "marcus", "parkrun and then absolutely nothing")
m("random", "2025-03-12 16:34", "elena", "garden centre, then pretending I know what I'm doing with seedlings :seedling:")
m("legal-privacy", "2025-03-06 11:20", "priya", "Can we use the public MultiWOZ dataset in the commercial model? It's MIT licensed I think", key="lic")
m("legal-privacy", "2025-03-06 11:48", "sofia", "MIT is fine for commercial use, just keep the licence text and attribution in the dataset card", thread="lic")
m("legal-privacy", "2025-03-06 11:52", "priya", "great, will do", thread="lic")
m("legal-privacy", "2025-03-13 10:40", "sofia", "FYI the updated subprocessor list is live: <https://northwind-labs.example/legal/subprocessors|Subprocessors>")


# --------------------------------------------------------------------------- build
def parse_utc(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def build(out: Path = OUT):
    if out.exists():
        if any(out.iterdir()) and not (out / "users.json").exists():
            raise SystemExit(f"refusing to replace {out}: it is not a Slack export")
        shutil.rmtree(out)
    export = SlackExport(out, JsonStyle(indent=2))
    users = [user_record(r) for r in USERS.values()] + [user_record(DEPARTED, deleted=True)]
    users.append({
        "id": BOT_USER, "team_id": TEAM, "name": "deploybot", "deleted": False, "real_name": "deploybot",
        "tz": "Europe/London", "tz_label": "Greenwich Mean Time", "tz_offset": 0, "is_admin": False, "is_bot": True,
        "profile": {"title": "", "real_name": "deploybot", "display_name": "deploybot", "bot_id": BOT_ID, "email": ""},
    })
    export.users(users)

    chans = []
    for name, c in CHANNELS.items():
        chans.append({
            "id": c["id"], "name": name, "created": int(parse_utc(c["created"]).timestamp()),
            "creator": uid(c["creator"]), "is_archived": False, "is_general": name == "general",
            "members": [uid(k) for k in c["members"]],
            "topic": {"value": c["topic"], "creator": uid(c["creator"]) if c["topic"] else "", "last_set": int(parse_utc(c["created"]).timestamp()) if c["topic"] else 0},
            "purpose": {"value": c["purpose"], "creator": uid(c["creator"]), "last_set": int(parse_utc(c["created"]).timestamp())},
        })
    export.channels(chans)

    total = 0
    for ch, entries in M.items():
        used = set()
        msgs = []
        parents = {}
        for when, who, text, opt in entries:
            t = parse_utc(when)
            sec = int(t.timestamp()) + RNG.randint(0, 59)
            while True:
                ts = f"{sec}.{RNG.randint(100, 999999):06d}"
                if ts not in used:
                    used.add(ts)
                    break
            if who == "bot":
                msg = {"type": "message", "subtype": "bot_message", "text": text, "ts": ts,
                       "username": "deploybot", "bot_id": BOT_ID}
            elif opt.get("join"):
                msg = {"type": "message", "subtype": "channel_join", "user": uid(who),
                       "text": f"<@{uid(who)}> has joined the channel", "ts": ts}
            else:
                msg = {"client_msg_id": str(uuid.UUID(int=RNG.getrandbits(128), version=4)),
                       "type": "message", "user": uid(who), "text": text, "ts": ts, "team": TEAM}
                if opt.get("edited"):
                    msg["edited"] = {"user": uid(who), "ts": f"{sec + opt['edited']}.000000"}
            if "key" in opt:
                msg["thread_ts"] = ts
                msg["reply_count"] = 0
                msg["reply_users_count"] = 0
                msg["latest_reply"] = ts
                msg["reply_users"] = []
                msg["replies"] = []
                parents[opt["key"]] = msg
            if "thread" in opt:
                p = parents[opt["thread"]]
                msg["thread_ts"] = p["ts"]
                msg["parent_user_id"] = p["user"]
                p["replies"].append({"user": msg["user"], "ts": ts})
                p["reply_count"] += 1
                if msg["user"] not in p["reply_users"]:
                    p["reply_users"].append(msg["user"])
                p["reply_users_count"] = len(p["reply_users"])
                p["latest_reply"] = ts
            msgs.append(msg)
        msgs.sort(key=lambda x: tuple(int(p) for p in x["ts"].split(".")))
        export.channel(ch, msgs)
        total += len(msgs)
    print(f"wrote {out} ({total} messages, {len(M)} channels)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where to write it (default: %(default)s)")
    build(parser.parse_args().out)
