"""A deterministic, realistic Slack admin export of any size, for the benchmarks.

The same (messages, seed, profile) always gives the same ZIP, byte for byte, cached under
~/.cache/chatforensics/bench. Shape: many channels, a few very busy ones (hundreds to
thousands of messages a day), threads, bots, joins, edited messages and edit events, files,
messages that use a rule term in an innocent way, and a handful of true concealment
conversations, in English and Chinese. Two profiles:

  tidy   ~3 % innocent candidates drawn from a short list (someone mentions ChatGPT, asks to delete
         a message, talks about the audit);
  dense  ~25 % of messages are an ML team's ordinary talk about vendors, quotas, outputs, masks,
         audits and deletions, composed from templates so that almost every text is different
         (a cache keyed on the text would not help), with e-mail addresses, hosts and keys in some.

    python -m benchmarks.generate 100000 --seed 7 --profile dense
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import zipfile
from pathlib import Path

from builders.slack import JsonStyle, SlackExport

GENERATOR_VERSION = 4  # part of the cache key: a changed generator never reuses an old export
CACHE = Path(os.environ.get("CHATFORENSICS_CACHE", Path.home() / ".cache" / "chatforensics")) / "bench"
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAYS = 365
BUSY_CHANNELS = 3
BUSY_SHARE = 0.30  # of all messages, in the busy channels
CANDIDATE_SHARE = {"tidy": 0.03, "dense": 0.25}  # innocent messages that use a rule term
PROFILES = tuple(CANDIDATE_SHARE)
THREAD_SHARE = 0.15
BUSY_DAY, QUIET_DAY = 1000, 25  # typical messages in one day file
USERS = 250

WORDS = (  # noqa: SIM905 - a word list reads better as text
    "the a we our this that it is are was be to of for on in with at by from and or but so if then "
    "deploy build release pipeline dashboard metrics latency ticket sprint standup review merge branch "
    "customer meeting lunch coffee weekend slides notes doc spec design test tests flaky fixed broken "
    "tomorrow today yesterday morning afternoon later soon done ready blocked waiting looks good great "
    "thanks please sure okay nice agree disagree question answer idea plan roadmap quarter budget "
    "invoice report chart query table index cluster node service queue cache config rollout rollback "
    "bug issue feature ui backend frontend mobile android ios tokenizer embedding ranking search "
    "kubernetes terraform grafana kafka spark postgres redis s3 bucket notebook jupyter batch job "
    "schema migration latency p99 oncall sev2 retro runbook alert pager hiring interview "
    "onboarding offsite team manager product roadmap okr demo feedback customer support ticket"
).split()
ZH_WORDS = "今天 明天 会议 上线 发布 测试 数据 报表 需求 讨论 周报 客户 模型 训练 集群 延迟 修复 好的 谢谢 收到".split()  # noqa: SIM905
EMOJI = [":tada:", ":+1:", ":eyes:", ":white_check_mark:", ":coffee:"]

# Innocent messages that a keyword search would flag: the prefilter lets them through.
CANDIDATES = [
    "has anyone compared ChatGPT with our internal search?",
    "please delete this message, wrong channel",
    "the audit starts monday, send the runbooks to compliance",
    "let's fine-tune the ranking thresholds next sprint",
    "we hit the rate limit on the billing service again",
    "Claude from finance joins the standup tomorrow",
    "call me when you're free",
    "birthday cake in the kitchen at 3",
    "the outputs of the nightly job look off",
    "gdpr training is due friday",
    "key rotation for the staging db is scheduled tonight",
    "can someone scrub the test fixtures of real emails?",
    "Gemini launch event recap is in the newsletter",
    "read the terms of service before signing the vendor contract",
    "privacy review for the mobile app is signed off",
    "we should paraphrase the release notes for customers",
    "the eval set for the tokenizer is in the bucket",
    "OpenAI published a new pricing page, interesting read",
    "take it offline, we are over time",
    "obfuscate the internal hostnames in the public slides",
    "今天的会议纪要请删除草稿版本",
    "客户要求数据脱敏后再发给我们，走隐私评审",
]

# The dense profile's ordinary ML-team talk: {slot}s filled from DENSE_SLOTS, one template per message.
DENSE_TEMPLATES = [
    "the {vendor} quota reset at midnight, batch {n} is running again",
    "{vendor} latency is up to {n} ms on the staging proxy, anyone else?",
    "can you check the {vendor} outputs for eval run {n} before standup",
    "we mask user emails before calling {vendor}, per the privacy review",
    "audit log export for {month} is in the bucket, ping {person} with questions",
    "delete the stale checkpoints under /scratch/run-{n}, we're out of disk",
    "the generated outputs from {model} look better than last sprint on {dataset}",
    "please anonymise the customer names in the {dataset} export before sharing",
    "who owns the {vendor} billing account? invoice {n} arrived",
    "rotate the {vendor} key for the staging service after the demo",
    "{vendor} rate limit hit again on job {n}, switching to the batch endpoint",
    "compliance asked for the data retention policy for {dataset}",
    "is {model} allowed for customer data? legal said yes with the DPA",
    "the eval harness now logs {vendor} responses to {host}",
    "mail {email} if the {vendor} usage report looks off",
    "moved the {dataset} labels to the new bucket, old one gets deleted friday",
    "ran {n} prompts through {model}, the outputs are in the notebook",
    "scrub the test fixtures of real phone numbers like {phone} before merging",
    "{vendor} status page shows degraded performance, retries are on",
    "the {dataset} redaction job masked {n} fields, report attached",
    "{vendor} 的配额今天又用完了，批次 {n} 要重跑",
    "{dataset} 数据脱敏脚本已经过了隐私评审",
    "审计下周开始，{month} 的日志请准备好",
    "{model} 生成的结果在 notebook 里，{person} 看一下",
    "把 /scratch/run-{n} 下面的旧 checkpoint 删掉吧，磁盘满了",
    "用 {vendor} 之前先把用户邮箱 mask 掉，这是合规要求",
    "staging 的 {vendor} key 下周轮换，别硬编码 {key}",
]
DENSE_SLOTS = {
    "vendor": ["OpenAI", "GPT-4", "gpt-4o", "Claude", "Anthropic", "Gemini", "Azure OpenAI", "ChatGPT",
               "the OpenAI API", "Mistral"],
    "model": ["gpt-4o", "GPT-4", "claude-3-opus", "gemini-pro", "our ranker", "the distilled model", "llama-3"],
    "dataset": ["support-tickets", "search-logs", "qa-pairs", "eval-v3", "clickstream", "onboarding-survey"],
    "month": ["january", "february", "march", "april", "may", "june", "july", "august"],
    "person": ["Priya", "Wei", "Jonas", "Aiko", "Sam", "Lena", "Omar", "Zhang Min"],
    "host": ["eval-01.internal", "10.2.{n}.7", "logs.example.com"],
    "email": ["ml-ops@example.com", "billing.{n}@example.com", "wei.zhang@example.org"],
    "phone": ["+1 415 555 {n}", "138 0013 {n}"],
    "key": ["sk-test-{n}abcdefghijklmnopqrstuv", "AKIAIOSFODNN7{n}"],
}
_SLOT = re.compile(r"\{(\w+)\}")


def _dense_text(rng: random.Random) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name == "n":
            return str(rng.randint(1000, 9999))
        return _SLOT.sub(fill, rng.choice(DENSE_SLOTS[name]))

    return _SLOT.sub(fill, rng.choice(DENSE_TEMPLATES))


# True concealment conversations: a thread, several speakers, each step a signal.
CONCEALMENT = [
    [
        "we have 40k completions from gpt-4o for the fine-tune",
        "we need to scrub anything that says OpenAI before the audit",
        "use my personal key so it won't show up on the org bill",
        "and relabel the source column as in-house data",
        "ok, let's take this offline and delete this thread after",
    ],
    [
        "the teacher model outputs are in the bucket, ~200k generations",
        "paraphrase them so nobody can tell they came from Claude",
        "mark it as human-written in the dataset card",
        "if anyone asks, it's our own data. dm me",
    ],
    [
        "我们用GPT-4生成的训练数据要先脱敏",
        "把来源字段改掉，洗白成我们自己标注的",
        "调用走我的个人账号，通过代理，别让公司看到",
        "聊完把聊天记录删除，私聊说",
    ],
]


def cached_export(messages: int, seed: int, profile: str = "tidy") -> Path:
    """The export's ZIP, generated on first use, with `<zip>.planted.json` beside it (see `planted_of`)."""
    target = CACHE / f"slack-{profile}-{messages}-seed{seed}-v{GENERATOR_VERSION}.zip"
    labels = planted_path(target)
    if not target.exists() or not labels.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".zip.partial")
        planted = write_export(partial, messages, seed, profile)
        labels.write_text(json.dumps(planted, indent=1))
        partial.replace(target)
    return target


def planted_path(export: Path) -> Path:
    return export.with_name(export.name + ".planted.json")


def planted_of(export: Path) -> list[dict]:
    """The true concealment threads of a generated export: [{"channel", "messages": [ts, ...]}]."""
    return json.loads(planted_path(export).read_text())


def write_export(target: Path, messages: int, seed: int, profile: str = "tidy") -> list[dict]:
    rng = random.Random(seed)
    text = _texts(profile)
    users = [f"U{i:05d}" for i in range(USERS)]
    channels = [f"chan-{i:04d}" for i in range(max(12, messages // 2500))]
    plan = _day_files(rng, channels, messages)
    secrets = _concealment_slots(rng, plan, max(3, messages // 200_000))
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        export = SlackExport(zf, JsonStyle(indent=1, newline=False))  # members stamped with one fixed time
        export.users(_users(users))
        export.channels([
            {"id": f"C{i:05d}", "name": name, "created": int(START.timestamp()), "members": users[:20]}
            for i, name in enumerate(channels)
        ])
        planted = []
        for (channel, day), count in sorted(plan.items()):
            story = CONCEALMENT[secrets[(channel, day)]] if (channel, day) in secrets else None
            records = _day(rng, users, day, count, story, text)
            if story:
                planted.append({"channel": channel, "messages": [r["ts"] for r in records
                                                                 if r.get("text") in story]})
            export.day(channel, _date(day), records)
    return planted


def _day_files(rng: random.Random, channels: list[str], messages: int) -> dict[tuple[str, int], int]:
    """How many messages each (channel, day) file holds; exact total, busy channels first."""
    busy, quiet = channels[:BUSY_CHANNELS], channels[BUSY_CHANNELS:]
    per_channel = _split(rng, int(messages * BUSY_SHARE), len(busy))
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(quiet))]  # a long tail, Zipf-like
    per_channel += _split(rng, messages - sum(per_channel), len(quiet), weights)
    plan: dict[tuple[str, int], int] = {}
    for channel, total in zip(busy + quiet, per_channel, strict=True):
        per_day = BUSY_DAY if channel in busy else QUIET_DAY
        active = sorted(rng.sample(range(DAYS), max(1, min(DAYS, total // per_day))))
        for day, count in zip(active, _split(rng, total, len(active)), strict=True):
            if count:
                plan[(channel, day)] = count
    return plan


def _split(rng: random.Random, total: int, parts: int, weights: list[float] | None = None) -> list[int]:
    weights = [w * rng.uniform(0.5, 1.5) for w in (weights or [1.0] * parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in rng.sample(range(parts), total - sum(counts)) if total > sum(counts) else []:
        counts[i] += 1
    return counts


def _concealment_slots(rng, plan, how_many: int) -> dict[tuple[str, int], int]:
    """Quiet-channel day files that carry one true concealment thread each."""
    roomy = sorted(k for k, n in plan.items() if n >= 10 and not k[0].endswith(("0000", "0001", "0002")))
    return {slot: i % len(CONCEALMENT) for i, slot in enumerate(rng.sample(roomy, min(how_many, len(roomy))))}


def _day(rng: random.Random, users: list[str], day: int, count: int, story: list[str] | None, text) -> list[dict]:
    base = START.timestamp() + day * 86400
    times = sorted(rng.uniform(base + 1, base + 86399) for _ in range(count))
    out: list[dict] = []
    threads: list[str] = []
    story_at = rng.randrange(0, max(1, count - len(story))) if story else -1
    for i, when in enumerate(times):
        ts = f"{when:.6f}"
        if story and story_at <= i < story_at + len(story):
            out.append(_story_message(users, story, i - story_at, ts, f"{times[story_at]:.6f}"))
            continue
        if out and out[-1].get("user") and not out[-1].get("subtype") and rng.random() < 0.002:
            out.append(_edit_event(out[-1], ts))
            continue
        out.append(_message(rng, users, ts, threads, text))
    return out


def _edit_event(original: dict, ts: str) -> dict:
    changed = {"type": "message", "user": original["user"], "text": original["text"] + " (edited)",
               "ts": original["ts"]}
    return {"type": "message", "subtype": "message_changed", "hidden": True, "ts": ts, "message": changed}


def _story_message(users: list[str], story: list[str], step: int, ts: str, root: str) -> dict:
    message = {"type": "message", "user": users[10 + step % 3], "text": story[step], "ts": ts, "thread_ts": root}
    if step:
        message["parent_user_id"] = users[10]
    else:
        message["reply_count"] = len(story) - 1
    return message


def _message(rng: random.Random, users: list[str], ts: str, threads: list[str], text) -> dict:
    roll = rng.random()
    if roll < 0.01:
        user = rng.choice(users)
        return {"type": "message", "subtype": "channel_join", "user": user, "text": f"<@{user}> has joined the channel",
                "ts": ts}
    if roll < 0.04:
        return {"type": "message", "subtype": "bot_message", "bot_id": "B00001", "username": "deploybot",
                "text": f"deployed {rng.choice(WORDS)} v{rng.randint(1, 99)}.{rng.randint(0, 20)}", "ts": ts}
    message = {"type": "message", "user": rng.choice(users), "text": text(rng, users), "ts": ts}
    if rng.random() < 0.5:
        message["user_profile"] = {"display_name": message["user"].lower(), "real_name": message["user"]}
    if threads and rng.random() < THREAD_SHARE * 2:
        message["thread_ts"] = rng.choice(threads[-5:])
    elif rng.random() < THREAD_SHARE:
        message["thread_ts"] = ts
        threads.append(ts)
    if rng.random() < 0.02:
        message["edited"] = {"user": message["user"], "ts": f"{float(ts) + 30:.6f}"}
    if rng.random() < 0.01:
        message["files"] = [{"name": f"{rng.choice(WORDS)}.png", "mimetype": "image/png",
                             "size": rng.randint(1, 9) << 16}]
    if rng.random() < 0.05:
        message["reactions"] = [{"name": rng.choice(EMOJI).strip(":"), "users": rng.sample(users, 2), "count": 2}]
    return message


def _texts(profile: str):
    """The text of an ordinary message, for the profile."""
    share = CANDIDATE_SHARE[profile]
    candidate = _dense_text if profile == "dense" else lambda rng: rng.choice(CANDIDATES)

    def text(rng: random.Random, users: list[str]) -> str:
        return candidate(rng) if rng.random() < share else _plain_text(rng, users)

    return text


def _plain_text(rng: random.Random, users: list[str]) -> str:
    if rng.random() < 0.05:
        return "".join(rng.choices(ZH_WORDS, k=rng.randint(3, 10)))
    words = rng.choices(WORDS, k=rng.randint(3, 25))
    if rng.random() < 0.1:
        words.insert(0, f"<@{rng.choice(users)}>")
    if rng.random() < 0.05:
        words.append(f"<https://wiki.example.com/{rng.choice(WORDS)}|{rng.choice(WORDS)}>")
    if rng.random() < 0.1:
        words.append(rng.choice(EMOJI))
    return " ".join(words)


def _users(ids: list[str]) -> list[dict]:
    people = [{"id": uid, "name": uid.lower(), "real_name": f"Person {uid}",
               "profile": {"display_name": uid.lower(), "real_name": f"Person {uid}",
                           "email": f"{uid.lower()}@example.com"}} for uid in ids]
    return people + [{"id": "B00001", "name": "deploybot", "is_bot": True, "profile": {"real_name": "deploybot"}}]


def _date(day: int) -> str:
    return (START + dt.timedelta(days=day)).strftime("%Y-%m-%d")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("messages", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", choices=PROFILES, default="tidy")
    args = parser.parse_args(argv)
    print(cached_export(args.messages, args.seed, args.profile))


if __name__ == "__main__":
    main()
