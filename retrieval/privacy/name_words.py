"""The word lists and the first-name lexicon of the person-name recogniser (retrieval/privacy/names.py).

The lexicon is the first-name list shipped in the ``gender-guesser`` package (its data file rates
each of about 48,000 names 1 to 13 for popularity in each of 50 countries); the names rated at
least :data:`MIN_POPULARITY` somewhere are read once per process. The other lists are the cues
and exceptions the rules use: function words, first names that are also everyday words or
places, titles, greetings, sign-offs, and the words that make a name a place.
"""

from __future__ import annotations

import functools
import importlib.resources

from bot.errors import ModelNotFoundError


def _words(text: str) -> list[str]:
    """The words of a word list written as one string."""
    return text.split()


LEXICON_PACKAGE = "gender_guesser"
LEXICON_FILE = "data/nam_dict.txt"
MIN_POPULARITY = 2  # the lexicon rates each name 1-13 per country; 1 lets in words like "royal" and "visa"

# function words and chat words that the lexicon also lists as names somewhere
STOP = frozenset(
    _words(
        """
    a ab ad ah ai am an and any are as at be been bi bo boo but by can co da de di do doc due el en era
    even for go ha he her hey hi him his hm i i'd i'll i'm i've if il im in is it it's its ja je jo ko la
    le li lo ma me mi mine mo my na no nor not of oh ok okay on one or our ours per sa so some such te than
    that the thee their them then there these they this those thou to too tu uh un us van ve via was we
    were what when where which who why with ya ye yes yet yo you your
    sir madam customer customers team all everyone everybody guys folks friend friends there support
    again so very much sorry thanks please just still also now today here really
    """
    )
)

# first names that are also everyday words, months, colours, brands or places: only with a cue or a surname
AMBIGUOUS = frozenset(
    _words(
        """
    age ago alien alter angel ant anti april asset august autumn bay beat bent berry bill bitten bog bon
    bore boy bum bun carry chase cherry christ christmas cock con constant coral cord crystal dare dawn dime
    din dip diva dot duke earnest edit else faith fan ferry file floor gal gang gay gee gen gene gin grace
    grant greet grit gun hack hale hardy harm harsh hat hay hazel hero holly honey hope hunter ideal impress
    iris ivy jade jelly jet jewel job joke joy july june justice key kin kinda kit lacy lame lane lap lie
    lies line lining loan lone long love lucky made major mall man mane march mare mark marks marry mat
    mate may melody merge merit mile miles mist misty moon nail nan nanny nissan novel oak odd olive oral
    owe paw pearl peer penny pile pin rail rain raid ram ran rand raven ray rest rim rip roar rob rocky
    rose rosy royal ruby run rusty rye sad sake said saga santa shady sham silver sin slave slim sky son
    soon sterling stole storm sub summer sun sunny sunday tam take tea thin tie ties till tin tiny tone
    tore trees tri trinity tuna urban val valve vents vibe vice viola violet wade will wit wolf woo young
    amber black white green brown grey gray gold golden scarlet rust
    america argentina asia austin chelsea cleveland dallas devon doha florence france georgia haifa india
    israel italia jordan kashmir kenya madison orlando paris salem santiago sydney trinidad tulsa verona
    victoria charlotte adelaide alexandria lincoln jersey chester kent york
    """
    )
)

TITLES = frozenset(_words("mr mrs ms miss mx dr prof professor sir dame lady lord rev"))
GREETINGS = (
    "hi",
    "hello",
    "hey",
    "hiya",
    "dear",
    "morning",
    "good morning",
    "good afternoon",
    "good evening",
    "thanks",
    "thank you",
    "thanks again",
    "many thanks",
    "cheers",
    "bye",
    "goodbye",
    "sorry",
)
SIGN_OFFS = (
    "best wishes",
    "kind regards",
    "warm regards",
    "best regards",
    "regards",
    "many thanks",
    "thanks again",
    "thanks",
    "thank you",
    "cheers",
    "speak soon",
    "all the best",
    "best",
    "take care",
    "sincerely",
    "yours sincerely",
    "yours",
    "love",
)
INTRODUCTIONS = ("my name is", "my name", "name is", "call me", "the name of", "under the name")  # "name's": 's is cut
SOFT_INTRODUCTIONS = ("this is", "it's", "its", "it is", "i'm", "im", "i am")  # need a lexicon name
RELATIONS = frozenset(
    _words(
        """
    wife husband partner son daughter mum mom mother dad father brother sister neighbour neighbor friend
    colleague boss manager flatmate housemate grandson granddaughter nan gran grandma grandad grandpa uncle
    aunt auntie niece nephew cousin fiance fiancé fiancee fiancée girlfriend boyfriend driver agent courier
    """
    )
)
VERB_CUES = (  # a lexicon name after these counts, even in lower case ("i spoke to sarah")
    "spoke to",
    "speak to",
    "spoken to",
    "talked to",
    "talk to",
    "spoke with",
    "talked with",
    "ask for",
    "asked",
    "emailed",
    "wrote to",
    "written to",
    "signed for by",
    "signed by",
    "gift for",
    "present for",
    "addressed to",
    "recipient is",
    "name on the order is",
    "name on the card is",
    "name on the account is",
)
# words that make a sentence speak to someone, so that ", Callum." at its end is a name
VOCATIVE_WORDS = frozenset(_words("hi hello hey dear thanks thank sorry welcome cheers bye goodbye apologies morning"))
# after a first name that starts a sentence: words that show it is someone doing something
PERSON_VERBS = frozenset(
    _words(
        """
    said says told tells asked asks called rang phoned emailed wrote sent left took ordered placed promised
    helped dealt mentioned confirmed explained agreed offered gave will would has had is was did does here
    from in at and
    """
    )
)
# a capitalised word after a name that makes it a place, a product or a company, not a person
PLACE_WORDS = frozenset(
    _words(
        """
    street st road rd lane ln avenue ave close drive way court place crescent gardens terrace grove square
    hill row mews walk park parade green rise view boulevard highway wharf quay gate circus vale yard
    station airport hospital school college university centre center office district county city town
    village bridge house hall museum church cathedral market arena stadium shopping mall store shop
    ltd limited plc inc llc gmbh co company group outfitters services support team sale sales day night
    """
    )
)
DETERMINERS = frozenset(_words("the a an this that these those our their its"))
NAME_PARTICLES = frozenset(_words("van von der de da di du le la del della dos das bin ibn al"))


@functools.cache
def first_names() -> frozenset[str]:
    """The lexicon's first names (casefolded) rated at least :data:`MIN_POPULARITY` in some country.

    Raises :class:`~bot.errors.ModelNotFoundError` when the package is not installed.
    """
    try:
        data = importlib.resources.files(LEXICON_PACKAGE).joinpath(LEXICON_FILE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise ModelNotFoundError(
            f"the first-name list of the {LEXICON_PACKAGE.replace('_', '-')} package is missing ({exc}); "
            "it is a dependency of Deskmate: reinstall it with `pip install -e .`"
        ) from exc
    names: set[str] = set()
    for line in data.splitlines():
        if not line or line[0] in "#=" or len(line) < 31:
            continue
        popularity = max((int(char, 16) for char in line[30:] if char in "0123456789ABCDEF"), default=0)
        if popularity < MIN_POPULARITY:
            continue
        name = line.split()[1]
        for joined in {name.replace("+", glue) for glue in ("", " ", "-")}:
            names.add(joined.casefold())
    return frozenset(names)
