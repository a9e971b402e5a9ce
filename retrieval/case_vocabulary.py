"""The vocabulary of the case-specific rules: the words that :mod:`retrieval.case_specific` matches.

Two kinds of entries, both used only by ``retrieval/case_specific.py``:

* regular-expression *fragments*, uncompiled strings that the rules of
  :func:`retrieval.case_specific.classify` splice into their patterns (compiled there with
  ``re.IGNORECASE``): the verbs an agent uses to report an action done for one customer, the status
  participles and states of an order, the subjects and objects that name this customer's case, the
  verbs of a promise, and the placeholders that name a case (``{order_id}``, ``{email}`` ...);
* compiled *context* patterns, the words that make a match hypothetical ("if", "once", a modal),
  hedged, conditional, habitual ("usually"), a duration ("within 5 days"), a question, a request,
  or anchored to a date or time ("today", "by Thursday").

Adding a word here changes what the rules catch: keep the near-miss examples in
``tests/retrieval/test_case_specific.py`` passing.
"""

from __future__ import annotations

import re

_F = re.IGNORECASE

# --- fragments of the rules -------------------------------------------------------------------------

PH = r"\{(?:order_id|account|card|email|phone|[a-z_]*_(?:id|number|ref))\}"  # placeholders naming a case
TOK = (  # a word inside a noun phrase: not a conjunction, pronoun, auxiliary or wh-word
    r"(?!(?:after|before|when|if|once|until|and|or|but|so|because|while|as|that|which|who|is|are|was|were|has|"
    r"have|had|will|would|can|could|should|may|might|must|do|does|did|tell|why|how|what|where|it|you|they|we|I|"
    r"to)\b)[\w{}£$.-]+"
)
CASE_NOUN = (
    r"(?:orders?|parcels?|packages?|deliver(?:y|ies)|refunds?|returns?|replacements?|exchanges?|payments?|charges?|"
    r"transfers?|bookings?|reservations?|appointments?|accounts?|cards?|claims?|complaints?|case|tickets?|"
    r"applications?|invoices?|subscriptions?|plans?|emails?|records?|transactions?|items?|photos?|requests?|"
    r"cheques?|deposits?|engineer|visit|standing order|direct debit|sim|router|label|link)"
)
ADV = (
    r"(?:just|also|now|already|only|actually|personally|manually|successfully|quickly|immediately|finally|then|both|"
    r"all|since|today|temporarily|fully)"
)
DONE_PAST = (  # action verbs in the past, after I/we with or without "have"
    r"(?:cancell?ed|re-?sent|sent|refunded|reimbursed|credited|re-?issued|issued|re-?opened|opened|closed|raised|"
    r"logged|filed|submitted|re-?booked|booked|re-?scheduled|scheduled|arranged|organi[sz]ed|updated|changed|"
    r"amended|corrected|edited|applied|added|removed|deleted|unlocked|unblocked|froze|re-?activated|activated|"
    r"deactivated|escalated|asked|contacted|chased|e-?mailed|texted|messaged|called|rang|phoned|forwarded|passed|"
    r"handed|referred|reported|noted|recorded|registered|flagged|marked|processed|reserved|swapped|exchanged|"
    r"replaced|upgraded|downgraded|linked|unlinked|merged|combined|moved|transferred|waived|reversed|approved|"
    r"authori[sz]ed|confirmed|verified|extended|renewed|paused|stopped|resumed|restored|recovered|cleared|lifted|"
    r"fixed|sorted|resolved|placed|ordered|re-?dispatched|dispatched|shipped|posted|packed|created|generated|"
    r"attached|uploaded|saved|enabled|disabled|switched|adjusted|topped up|paid|covered|compensated|granted|"
    r"honou?red|prioriti[sz]ed|expedited|assigned|re-?assigned|allocated|kept|held|took|gave|checked|"
    r"double[- ]checked|re-?checked|looked|investigated|found|located|traced|tracked down|spoke|talked|told|"
    r"informed|notified|alerted|reached out|received|completed|tried|tested|re-?ran|rebooted|restarted|reconnected|"
    r"unsubscribed|opted|deducted|knocked|dropped|bumped|requested|re-?routed|redirected|returned|collected|"
    r"migrated|caught|had a look|took a look|got in touch|got (?=your|it\b|them\b|the\b))"
)
PERFECT_ONLY = (  # after "have" only: bare "I put", "we split" read as present tense
    r"(?:taken over|taken|given|spoken|done|rung|been in touch|frozen|set up|put|set|let|reset|split|run|"
    r"made a note|made the change|made sure|gone through)"
)
PARTICIPLE = (  # any participle, after a contracted "I've"/"we've" or a passive "has been"
    r"(?:[a-z-]+ed|sent|put|set|let|reset|split|run|paid|taken|given|done|found|held|kept|told|left|caught|rung|"
    r"spoken|written|frozen|had\s+a\s+(?:word|look|chat|quick\s+look)|gone\s+(?:into|through|ahead))\b"
)
NOT_ACTION = (  # participles that report talk, perception, experience or a shop-wide announcement
    r"(?:been|seen|heard|noticed|mentioned|explained|said|wondered|learn(?:ed|t)|wanted|needed|hoped|loved|enjoyed|"
    r"used|worn|worked|lived|owned|always|never|ever|decided|tried to|started to|understood|experienced|launched|"
    r"introduced|improved|designed|partnered|expanded|redesigned|developed|teamed|listed|included|covered|answered|"
    r"discussed|talked about|agreed that|reali[sz]ed|read|felt|missed|rolled|updated our|changed our)"
)
NOT_CASE_OBJECT = (  # "we've updated our policy", "we've received a lot of messages"
    r"(?!\s+(?:out\s+|off\s+|up\s+)?(?:our\b(?!\s+(?:records|system|notes|files|database))|a\s+lot|lots|loads|"
    r"many|more\b|some\s+changes|changes\b|improvements|a\s+(?:high|large|huge|record)\b|an\s+unusual|steps\b|"
    r"a\s+new\s+(?:store|shop|warehouse|website|site|app|range|collection|feature|look|policy)))"
)
PP = (  # status participles after "was", "is now", "is" (after "has been" any participle counts)
    r"(?:dispatched|shipped|re-?sent|sent|delivered|cancell?ed|refunded|credited|processed|approved|declined|"
    r"rejected|confirmed|re-?booked|booked|re-?scheduled|scheduled|arranged|locked|unlocked|blocked|unblocked|"
    r"frozen|suspended|re-?activated|activated|deactivated|closed|re-?opened|opened|packed|picked(?: up)?|collected|"
    r"held|delayed|lost|damaged|returned|received|re-?issued|issued|raised|logged|escalated|updated|changed|amended|"
    r"corrected|applied|added|removed|deleted|reset|verified|linked|merged|combined|transferred|moved|swapped|"
    r"exchanged|replaced|upgraded|downgraded|paid|charged|reversed|waived|released|restored|resolved|fixed|sorted|"
    r"completed|submitted|registered|reserved|allocated|re-?assigned|assigned|marked|flagged|redirected|re-?routed|"
    r"signed for|forwarded|posted|e-?mailed|placed|created|authori[sz]ed|put on hold|cleared|renewed|extended|"
    r"paused|accepted|increased|rotated|migrated|prepared|set up|scanned|re-?dispatched|ported|split|taken|"
    r"reimbursed|topped up|noted|recorded|dropped off|passed on|written off|notified|informed|told|left|lodged|"
    r"refused|handed over|retried|located|found|traced|recovered|couriered)"
)
STATE = (
    r"(?:with (?:the|our|a|your) (?:courier|driver|rider|carrier|post office|warehouse|team|engineer|bank)|"
    r"with (?:royal mail|dpd|ups|fedex|usps|evri|dhl|parcelforce)|in transit|on (?:its|their|the) way|"
    r"out for delivery|at (?:the|our|a|your) [\w' ]{0,30}?(?:depot|hub|warehouse|sorting centre|post office|"
    r"pickup point|locker|door)|waiting (?:for you|at|in)|ready (?:for|to)|due (?:to arrive|today|tomorrow|on)|"
    r"(?:about )?\d+ (?:minutes|mins) away|complete|pending|showing as|on hold|overdue|stuck|back with us|going out|"
    r"in (?:our|the) (?:warehouse|queue)|failing|finished|scheduled to)"
)
STATE_NOW = (  # states that report a change only with "now" or "already": "your broadband is now live"
    r"(?:live|active|connected|working|back (?:up|online|to normal)|restored|ready|set up|sorted|fixed|on (?:its|"
    r"their|the) way|out for delivery|in transit|with the courier|back with us)"
)
PAST_ACTIVE = (
    r"(?:left|arrived|shipped|reached|went (?:out|through|back|missing|live)|came (?:back|through)|cleared|landed|"
    r"picked up|dropped off|bounced|failed|got to|finished|completed|expired|renewed|lapsed|succeeded)"
)
PAST_ACTIVE_PRONOUN = (  # "it arrived" mostly echoes the customer ("Sorry it arrived like that")
    r"(?:left|shipped|reached|went (?:out|through|missing)|cleared|landed|picked up|dropped off|bounced|got to)"
)
FORECAST = (
    r"(?:arrive|reach\s+you|go out|leave|land|show|appear|ship|renew|start|end|be\s+(?:with\s+you|delivered|"
    r"dispatched|sent|back|refunded|processed|released|credited|ready|working|shipped|paid|taken|collected|charged|"
    r"renewed|live|active|installed|fixed|couriered|posted))"
)
SUBJECT_STRONG = rf"(?:\b(?:your|ur|yr)(?:\s+{TOK}){{1,6}}?|\byours\b|{PH})"
SUBJECT_THE = (
    rf"\bthe(?:\s+{TOK}){{0,2}}?\s+{CASE_NOUN}(?:\s+{TOK})??(?:\s+(?:to|for|from|on|of)(?:\s+{TOK}){{1,3}}?){{0,2}}"
)
SUBJECT = rf"(?:{SUBJECT_STRONG}|{SUBJECT_THE}|\bit|\bthey|\bboth(?:\s+{TOK})?|\beverything)"
AGENT = (
    r"\b(?:the|our|your|ur)\s+(?:courier|driver|rider|engineer|technician|warehouse(?:\s+team)?|restaurant|bank|"
    r"carrier|underwriter|case handler)"
)
AGENT_VERB = (
    r"(?:confirmed|collected|delivered|picked up|returned|marked|scanned|attempted|lost|found|accepted|replied|"
    r"come back|got back|approved|declined|released|sent|dispatched|packed|received|refunded|processed|cancell?ed|"
    r"told us|said|agreed|booked|left)"
)
HAS = r"(?:\s+(?:has|have|had)|'s|'ve|s)(?:n't|\s+not)?"
BE = r"(?:\s+(?:is|are)|'s|'re)(?:n't|\s+not)?"
I_HAVE = r"\b(?:I|we)(?:'ve|ve|\s+have)"
PROMISE_I = (
    r"(?:e-?mail|call|ring|phone|text|message|contact|get back to|come back to|update you|let you know|keep (?:you|"
    r"an eye)|be in touch|follow (?:up|this up)|chase|check (?:back )?in with|send|post|arrange|book|refund|cancel|"
    r"escalate|raise|log|pass|forward|reply|sort|fix|reset|unlock|credit|waive|set up|add|remove|change|swap|"
    r"reserve|hold|order|process|issue|re-?send|transfer|connect|put you through|speak to|talk to|ask|look into|"
    r"investigate|monitor)"
)
PROMISE_WE = (
    r"(?:send|e-?mail|call|ring|text|contact|be in touch|get back to|reply|refund|credit|dispatch|post|deliver|"
    r"collect|arrange|book|cancel|process|re-?send|replace|swap|update you|let you know|chase|pick (?:it|them) up|"
    r"ship)"
)
PROGRESSIVE = (
    r"(?:cancell?ing|refunding|re-?sending|sending|processing|arranging|booking|issuing|updating|changing|resetting|"
    r"unlocking|escalating|raising|logging|adding|removing|applying|crediting|e-?mailing|forwarding|swapping|"
    r"upgrading|downgrading|setting up|organi[sz]ing|chasing|contacting|reversing|waiving|reserving|dispatching|"
    r"posting|replacing|transferring|connecting|passing|putting|handing)"
)
OBJECT = (
    rf"(?:(?:any|an?|the|that|this|your|ur|a record of)(?:\s+\w+){{0,2}}?\s+{CASE_NOUN}\b|{PH}|it\b|them\b|anything\b)"
)
NEGATED = (
    r"(?:\s+(?:haven't|have\s+not|hadn't|didn't|did\s+not|couldn't|could\s+not|wasn't\s+able\s+to|"
    r"weren't\s+able\s+to|was\s+unable\s+to|were\s+unable\s+to)|'ve\s+not)"
)
OPENER = r"(?:great|right|ok|okay|perfect|lovely|brilliant|thanks|thank you|good news|so|and|sure|no problem)"

# --- context: what makes a match hypothetical, habitual, a question or an offer -------------------------

LEAD = re.compile(
    r"\b(?:if|unless|once|when|whenever|after|before|until|till|as\s+soon\s+as|in\s+case|whether|while|provided|"
    r"providing|so\s+(?:that|you\s+know|you\s+can\s+see)|make\s+sure|hope|might|may|could|would|should|must|why|how|"
    r"what)\b",
    _F,
)
HEDGE = re.compile(r"\b(?:means?|usually|normally|typically|probably|perhaps|maybe|possibly|likely)\b", _F)
POST_IF = re.compile(r"\b(?:if|unless|whether)\b", _F)
POST_CONDITION = re.compile(r"\b(?:if|unless|whether|once|when|whenever|as\s+soon\s+as|in\s+case|provided)\b", _F)
CONDITION = re.compile(
    r"\b(?:if|unless|once|when|whenever|as\s+soon\s+as|in\s+case|provided|providing|should\s+you|whether|otherwise|"
    r"until|after|before)\b",
    _F,
)
OWN_CONDITION = re.compile(r"\b(?:as\s+soon\s+as|once|when)\s+(?:I|we)\b", _F)
HABITUAL = re.compile(
    r"\b(?:usually|normally|typically|generally|always|often|sometimes|automatically|every|each)\b", _F
)
DURATION = re.compile(
    r"\b(?:within\s+(?:\d|a\b|an\b|one|two|three|five|seven)|in\s+\d+(?:-\d+)?\s+(?:working\s+|business\s+)?days|"
    r"up\s+to)\b",
    _F,
)
ANCHOR = re.compile(
    r"\b(?:today|tonight|tomorrow|this (?:morning|afternoon|evening|week)|later today|first thing|right away|"
    r"straight away|right now|now|shortly|in (?:a|\d+) (?:few )?(?:minutes?|mins?|hours?)|in a moment|"
    r"within the hour|in the next (?:hour|few minutes|\d+ (?:minutes|hours))|(?:on|by|this|next|before|until) "
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|(?:on|by) the \d{1,2}(?:st|nd|rd|th)|(?:on|by) \d{1,2}"
    r"(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*|(?:by|at) \d{1,2}(?::\d\d)? ?(?:am|pm)|"
    r"end of (?:the )?day)\b",
    _F,
)
QUESTION_CLAUSE = re.compile(
    r"^\s*(?:and\s+|so\s+|but\s+)?(?:did|do|does|has|have|had|is|are|was|were|could|can|would|will|shall|should|"
    r"what|which|where|when|how|why|who)\b",
    _F,
)
REQUEST = re.compile(
    r"^(?:(?:ok|okay|sure|great|no problem|of course|yes|please|just|then|thanks)[,!.]*\s+)*(?:send|tell|give|share|"
    r"let\s+(?:me|us)\s+know|reply|pop|drop|email|forward|attach|confirm|choose|select|tap|click|start|pick|fill|"
    r"upload|text|message|call|report|contact|apply|verify|sign\s+up|open|go|head|visit|log\s+in|sign\s+in|use|enter|"
    r"follow|to\s+(?!confirm\b)\w+)\b",
    _F,
)
