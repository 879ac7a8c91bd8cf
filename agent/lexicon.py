"""The words the understanding layer knows: English, Hinglish (Latin script) and Hindi (Devanagari).

Data only. Phrases use the syntax of `agent.spoken_text.Phrases` (`a|b` either word, `word?`
optional, `*` up to three words, `^`/`$` the whole utterance). Latin spellings are folded before
matching (`agent.spoken_text.fold`), so one spelling of a Hinglish word covers its variants:
"hazaar" also matches "hazar" and "hajar", "somvaar" also "somwar".
"""

from __future__ import annotations

# --- numbers ---------------------------------------------------------------------------------

ENGLISH_UNITS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
ENGLISH_TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip

# Hindi numbers 0-100 are irregular words, so each is listed, in Latin and Devanagari script.
HINDI_NUMBERS: dict[str, int] = {
    "shunya": 0, "ek": 1, "do": 2, "teen": 3, "chaar": 4, "char": 4, "paanch": 5, "paach": 5,
    "chhah": 6, "chhe": 6, "che": 6, "chah": 6, "chheh": 6, "saat": 7, "aath": 8, "nau": 9,
    "das": 10, "gyaarah": 11, "gyarah": 11, "gyara": 11, "baarah": 12, "bara": 12,
    "terah": 13, "chaudah": 14, "chauda": 14, "pandrah": 15, "pandra": 15,
    "solah": 16, "sola": 16, "satrah": 17, "satra": 17, "athaarah": 18, "athara": 18,
    "unnees": 19, "unees": 19, "bees": 20, "ikkees": 21, "baaees": 22, "bais": 22,
    "teis": 23, "tees": 30, "chaubees": 24, "pachchees": 25, "pachis": 25, "chhabbees": 26,
    "sattaees": 27, "satais": 27, "atthaees": 28, "athais": 28, "untees": 29, "iktees": 31,
    "battees": 32, "taintees": 33, "chauntees": 34, "paintees": 35, "chhattees": 36,
    "saintees": 37, "adtees": 38, "artees": 38, "untaalees": 39, "chaalees": 40,
    "chalis": 40, "iktaalees": 41, "bayaalees": 42, "taintaalees": 43, "chauvaalees": 44,
    "paintaalees": 45, "chhiyaalees": 46, "saintaalees": 47, "adtaalees": 48,
    "unchaas": 49, "pachaas": 50, "ikyaavan": 51, "baavan": 52, "tirpan": 53,
    "chauvan": 54, "pachpan": 55, "chhappan": 56, "sattaavan": 57, "atthaavan": 58,
    "unsath": 59, "saath": 60, "iksath": 61, "baasath": 62, "tirsath": 63, "chausath": 64,
    "painsath": 65, "chhiyaasath": 66, "sadsath": 67, "adsath": 68, "unhattar": 69,
    "sattar": 70, "ikhattar": 71, "bahattar": 72, "tihattar": 73, "chauhattar": 74,
    "pachhattar": 75, "chhihattar": 76, "sathattar": 77, "athhattar": 78, "unyaasi": 79,
    "assi": 80, "ikyaasi": 81, "bayaasi": 82, "tiraasi": 83, "chauraasi": 84,
    "pachaasi": 85, "chhiyaasi": 86, "sattaasi": 87, "atthaasi": 88, "navaasi": 89,
    "nabbe": 90, "ikyaanve": 91, "baanve": 92, "tiraanve": 93, "chauraanve": 94,
    "pachaanve": 95, "chhiyaanve": 96, "sattaanve": 97, "atthaanve": 98, "ninyaanve": 99,
    "शून्य": 0, "एक": 1, "दो": 2, "तीन": 3, "चार": 4, "पांच": 5, "छह": 6, "छः": 6, "छे": 6,
    "सात": 7, "आठ": 8, "नौ": 9, "दस": 10, "ग्यारह": 11, "बारह": 12, "तेरह": 13, "चौदह": 14,
    "पंद्रह": 15, "पन्द्रह": 15, "सोलह": 16, "सत्रह": 17, "अठारह": 18, "उन्नीस": 19,
    "बीस": 20, "इक्कीस": 21, "बाईस": 22, "तेईस": 23, "चौबीस": 24, "पच्चीस": 25,
    "छब्बीस": 26, "सत्ताईस": 27, "अट्ठाईस": 28, "उनतीस": 29, "तीस": 30, "इकतीस": 31,
    "बत्तीस": 32, "तैंतीस": 33, "चौंतीस": 34, "पैंतीस": 35, "छत्तीस": 36, "सैंतीस": 37,
    "अड़तीस": 38, "उनतालीस": 39, "चालीस": 40, "इकतालीस": 41, "बयालीस": 42,
    "तैंतालीस": 43, "चौवालीस": 44, "पैंतालीस": 45, "छियालीस": 46, "सैंतालीस": 47,
    "अड़तालीस": 48, "उनचास": 49, "पचास": 50, "इक्यावन": 51, "बावन": 52, "तिरपन": 53,
    "चौवन": 54, "पचपन": 55, "छप्पन": 56, "सत्तावन": 57, "अट्ठावन": 58, "उनसठ": 59,
    "साठ": 60, "इकसठ": 61, "बासठ": 62, "तिरसठ": 63, "चौंसठ": 64, "पैंसठ": 65,
    "छियासठ": 66, "सड़सठ": 67, "अड़सठ": 68, "उनहत्तर": 69, "सत्तर": 70, "इकहत्तर": 71,
    "बहत्तर": 72, "तिहत्तर": 73, "चौहत्तर": 74, "पचहत्तर": 75, "छिहत्तर": 76,
    "सतहत्तर": 77, "अठहत्तर": 78, "उन्यासी": 79, "उनासी": 79, "अस्सी": 80, "इक्यासी": 81,
    "बयासी": 82, "तिरासी": 83, "चौरासी": 84, "पचासी": 85, "छियासी": 86, "सत्तासी": 87,
    "अट्ठासी": 88, "नवासी": 89, "नब्बे": 90, "इक्यानवे": 91, "बानवे": 92, "तिरानवे": 93,
    "चौरानवे": 94, "पचानवे": 95, "छियानवे": 96, "सत्तानवे": 97, "अट्ठानवे": 98,
    "निन्यानवे": 99,
}  # fmt: skip
# Words that are numbers only next to another number word or a unit ("do hazaar", "do baje"):
# alone they are "do" (English) and "saath" (with).
AMBIGUOUS_NUMBERS = ("do", "saath")
HUNDRED = ("hundred", "sau", "सौ")
SCALES: dict[str, int] = {
    "thousand": 1_000, "hazaar": 1_000, "hazzar": 1_000, "हज़ार": 1_000,
    "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000, "लाख": 100_000,
    "million": 1_000_000,
    "crore": 10_000_000, "crores": 10_000_000, "karod": 10_000_000, "करोड़": 10_000_000,
}  # fmt: skip
THOUSAND_SUFFIX = "k"  # "5k", "2.5 k"
# "dedh hazaar" 1500, "dhai sau" 250.
FRACTIONS: dict[str, str] = {"dedh": "1.5", "derh": "1.5", "डेढ़": "1.5", "dhai": "2.5",
"dhaai": "2.5",
                             "adhai": "2.5", "ढाई": "2.5"}  # fmt: skip
# "sava do" 2.25, "saadhe teen hazaar" 3500, "paune do" 1.75, "sava lakh" 125000.
FRACTION_PREFIXES: dict[str, str] = {
    "sava": "0.25", "savaa": "0.25", "सवा": "0.25",
    "saadhe": "0.5", "sade": "0.5", "saade": "0.5", "साढ़े": "0.5",
    "paune": "-0.25", "पौने": "-0.25",
}  # fmt: skip
AND = ("and", "aur", "और")
ARTICLE = ("a", "an")  # "a thousand"
AND_A_HALF = "and a? half"
ORDINAL_SUFFIXES = ("st", "nd", "rd", "th")
ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "pehli": 1, "pahli": 1, "पहली": 1,
}  # fmt: skip
CURRENCY = ("rs", "rupees", "rupee", "rupaye", "rupay", "rupiya", "rupya", "inr", "रुपये", "रुपए",
            "रुपया")  # fmt: skip
REPEAT_DIGIT = {"double": 2, "triple": 3}  # "double five" in a spoken number: 55

# --- calendar --------------------------------------------------------------------------------

WEEKDAYS: dict[str, int] = {
    "monday": 0, "mondays": 0, "tuesday": 1, "tuesdays": 1, "wednesday": 2, "wednesdays": 2,
    "thursday": 3, "thursdays": 3, "friday": 4, "fridays": 4, "saturday": 5, "saturdays": 5,
    "sunday": 6, "sundays": 6,
    "somvaar": 0, "mangalvaar": 1, "budhvaar": 2, "guruvaar": 3, "brihaspativaar": 3,
    "veervaar": 3, "shukravaar": 4, "shukarvaar": 4, "shanivaar": 5, "ravivaar": 6,
    "itvaar": 6, "etvaar": 6,
    "सोमवार": 0, "मंगलवार": 1, "बुधवार": 2, "गुरुवार": 3, "बृहस्पतिवार": 3, "वीरवार": 3,
    "शुक्रवार": 4, "शनिवार": 5, "रविवार": 6, "इतवार": 6,
}  # fmt: skip
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # SPEC's preference days
# Full names only: transcripts spell months out, and abbreviations collide with folded
# words ("now" folds to "nov", "jaan" to "jan").
MONTHS: dict[str, int] = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "जनवरी": 1, "फरवरी": 2, "मार्च": 3, "अप्रैल": 4, "मई": 5, "जून": 6, "जुलाई": 7,
    "अगस्त": 8, "सितंबर": 9, "सितम्बर": 9, "अक्टूबर": 10, "अक्तूबर": 10, "नवंबर": 11,
    "नवम्बर": 11, "दिसंबर": 12, "दिसम्बर": 12,
}  # fmt: skip
DATE_WORDS = ("tareekh", "tarikh", "tarik", "tarakh", "तारीख", "तारिख", "date")
NEXT = ("next", "agle", "agla", "agli", "aagle", "अगले", "अगला", "अगली")
THIS = ("this", "is", "iss", "coming", "इस")
LAST = ("last", "pichle", "pichhle", "pichla", "previous", "पिछले", "पिछला")
DAY_UNITS = ("day", "days", "din", "dino", "dinon", "दिन", "दिनों")
WEEK_UNITS = ("week", "weeks", "hafta", "hafte", "haftay", "हफ्ता", "हफ्ते", "सप्ताह")
MONTH_UNITS = ("month", "months", "mahina", "mahine", "महीना", "महीने")
HOUR_UNITS = ("hour", "hours", "hr", "hrs", "ghanta", "ghante", "ghanton", "घंटा", "घंटे")
MINUTE_UNITS = ("minute", "minutes", "min", "mins", "minat", "मिनट")
# Words after a number that say it is not an amount: a date, a time, a count of something.
NOT_AMOUNT_AFTER = ("baje", "bje", "बजे", "oclock", "am", "pm", "emi", "emis", "year", "years",
                    "saal", "साल", "baar", "times", "log", "people", "percent")  # fmt: skip

TODAY = ("today", "aaj", "aj", "आज", "tonight", "aaj raat")
NOW = ("now", "right now", "abhi", "abi", "अभी", "immediately", "turant", "तुरंत", "just now")
TOMORROW = ("tomorrow", "tmrw", "tomoro", "kal", "कल")
DAY_AFTER_TOMORROW = ("day after tomorrow", "day after", "parso", "parson", "parsu", "परसों",
                      "परसो")  # fmt: skip
YESTERDAY = ("yesterday",)
DAY_BEFORE_YESTERDAY = ("day before yesterday",)
NEXT_WEEK = ("next week", "agle hafte|week|hafta", "aane vale hafte", "अगले हफ्ते|सप्ताह")
LAST_WEEK = ("last week", "previous week", "pichle hafte|week|hafta", "पिछले हफ्ते|सप्ताह")
END_OF_MONTH = (
    "end of * month", "month end|ending", "month ke end|aakhir|last|ant", "mahine ke end|aakhir|"
    "aakhri|last|ant", "mahina khatam", "month khatam", "last day|date of * month",
    "महीने के अंत|आखिर|आखिरी", "महीने के अंत|आखिर में",
)  # fmt: skip
# Said instead of a date: the agent has to ask for a concrete one.
VAGUE_DATES = (
    "after salary|payday", "after pay day", "after getting * salary|money", "aane|milne ke baad",
    "after i get * salary", "when i get * salary|money|paid",
    "once * salary", "salary ke|ki|k baad|bad|aane|milne|aate|milte|pe|par|aayegi|ayegi",
    "jab * salary", "salary aane|milne|aate|milte", "salary credit", "first|1st|second|2nd|"
    "last week of * month", "starting|beginning|start of * month", "next month", "agle|agla "
    "mahine|month|mahina", "अगले महीने", "this month", "is mahine|month", "इस महीने", "soon",
    "jaldi", "जल्दी", "few days", "kuch din|dino|dinon", "कुछ दिन|दिनों", "some days",
    "some time", "thoda time|samay|vakt", "थोड़ा समय", "this week", "is hafte|week",
    "इस हफ्ते", "jab paise aayenge|aaenge|aayege", "jab paise aa jayenge", "when i have * money",
    "paise aate hi", "पैसे आने पर", "सैलरी के बाद|आने", "तनख्वाह", "later", "baad mein",
    "बाद में",
)  # fmt: skip

DAY_PARTS: dict[str, tuple[str, ...]] = {
    "morning": ("morning", "subah", "subha", "savere", "सुबह", "सवेरे"),
    "afternoon": ("afternoon", "dopahar", "dopehar", "दोपहर", "lunch"),
    "evening": ("evening", "shaam", "शाम"),
    "night": ("night", "tonight", "raat", "रात"),
}
BAJE = ("baje", "bje", "बजे", "oclock")
AM = ("am",)
PM = ("pm",)
AFTER = ("after", "baad", "bad", "बाद")
BEFORE = ("before", "pehle", "pahle", "पहले", "until", "till", "tak", "तक")
AGO = ("ago", "pehle", "pahle", "पहले", "back")
WITHIN = ("in", "within", "mein", "me", "andar", "में", "अंदर")
HALF_HOUR = ("half an hour", "aadha ghanta", "aadhe ghante", "आधा घंटा", "आधे घंटे")
AN_HOUR = ("an hour", "one hour", "ek ghanta|ghante", "एक घंटा|घंटे")
ON = ("on", "by", "ko", "को")

# --- cues ------------------------------------------------------------------------------------

FILLERS = ("sir", "madam", "mam", "maam", "uh", "um", "umm", "uhh", "ah", "arre", "yaar",
           "please", "pls", "bhai", "bhaiya", "boss", "dekhiye", "dekho", "actually",
           "basically", "well", "oh", "ok", "okay", "so", "जी", "सर", "मैडम")  # fmt: skip
NEGATORS_BEFORE = ("not", "never", "unable", "no")  # English: negates what follows
NEGATORS_AFTER = ("nahi", "nahin", "nai", "nhi", "mat", "नहीं", "नही", "मत")  # Hindi: what precedes
CLAUSE_BREAKS = ("but", "lekin", "magar", "instead", "rather", "balki", "लेकिन", "मगर", "बल्कि")
UNTIL = ("until", "till", "before", "tak", "pehle", "pahle", "तक", "पहले")

AFFIRM = (
    "yes", "yeah", "yea", "yep", "yup", "ya", "haan", "ha", "haanji", "haan ji", "ji", "ji haan",
    "ok", "okay", "okey", "sure", "right", "correct", "that is right|correct", "theek hai",
    "thik hai", "theek", "bilkul", "sahi", "sahi hai", "done", "alright", "all right",
    "of course", "hmm", "hm", "achha", "acha", "chalo", "chaliye", "confirm", "confirmed",
    "agreed", "fine", "haan bolo|boliye", "हां", "हा", "जी", "जी हां", "ठीक", "ठीक है", "बिल्कुल",
    "सही", "सही है", "अच्छा", "हम्म", "ओके",
)  # fmt: skip
DENY = (
    "no", "nope", "nah", "nahi", "nahin", "nai", "nhi", "na", "not really", "never", "galat",
    "wrong", "incorrect", "not correct|right", "नहीं", "नही", "ना", "गलत", "ji nahi",
)  # fmt: skip
IDENTITY_CONFIRMED = (
    "speaking", "this is he|she|me", "it is me", "that is me", "i am speaking", "yes i am",
    "main|mai|me hi", "main|mai bol raha|rahi", "bol raha|rahi hun|hu", "haan main|mai", "myself",
    "मैं ही", "मैं बोल रहा|रही", "बोल रहा|रही हूं|हू", "हां मैं",
)  # fmt: skip
NOT_THE_PERSON = (
    "not me", "wrong person", "i am not him|her|he|she", "i am not that person",
    "this is not him|her",
    "main|mai vo|voh|wo nahi", "main|mai vo|voh|wo nahi hun|hu", "not the same person",
    "different person", "मैं वो नहीं", "वो मैं नहीं",
)  # fmt: skip
_RELATIONS = (
    "son|daughter|wife|husband|brother|sister|father|mother|dad|mom|mummy|papa|uncle|aunty|"
    "friend|colleague|neighbour|neighbor|servant|driver|secretary|relative|cousin|nephew|niece|"
    "beta|beti|bhai|behen|bahan|biwi|patni|pati|gharwali|gharwala|chacha|mama|dost|naukar|"
    "bhabhi|devar|saas|sasur|बेटा|बेटी|पत्नी|पति|भाई|बहन|मां|पिता|पापा|दोस्त|बीवी"
)
_HIS = "his|her|their"
_UNKA = "unka|unki|unke|uska|uski|uske|inka|inki|inke|उनका|उनकी|उनके|उसका|उसकी"
_HE = "he|she"
_VO = "vo|voh|wo|woh|वो|वह"
THIRD_PARTY = (
    f"i am {_HIS} {_RELATIONS}", f"this is {_HIS} {_RELATIONS}",
    f"{_UNKA} {_RELATIONS} bol|hun|hu|hai|बोल|हूं",
    f"main|mai|me|मैं {_UNKA} {_RELATIONS}",
    f"{_HE} is not at? home|here|available|around|in|there",
    f"{_HE} is out|outside|sleeping|travelling|busy", f"{_HE} is at the? work|office",
    f"{_HE} went out", f"{_HE} went to office|work",
    f"{_HE} is not * home|here|available", f"{_VO} ghar pe|par|mein nahi",
    f"{_VO} abhi? nahi hai|hain", f"{_VO} bahar|office|dukaan gaye|gaya|gayi|hai|hain",
    f"{_VO} kaam pe|par gaye|gaya|gayi|hai|hain",
    f"{_VO} so rahe|raha|rahi", "ghar pe|par nahi hai|hain", "घर पर नहीं", f"{_VO} नहीं हैं|है",
    f"{_VO} बाहर गए|गया|गई", "not at home", "abhi available nahi",
)  # fmt: skip
WRONG_NUMBER = (
    "wrong number", "rong number", "galat number", "galat no", "गलत नंबर", "रॉन्ग नंबर",
    "no? one|body by|of|with that|this name", "nobody by|of|with that|this name",
    "no such person", "there is no * here",
    "i do not know any|anyone|him|her|this|that|who", "do not know * person",
    "koi nahi rehta|rahta", "is|iss naam ka koi nahi", "इस नाम का कोई नहीं", "is naam ka koi",
    "main kisi * ko nahi jaanta|janti", "main inhe|unhe|unko nahi jaanta|janti",
    "not his|her number", "this is not * number", "kisko|kise dhund|dhundh|dhoondh",
    "unka|uska number nahi", "mera number hai", "number badal",
    "number change|changed", "new number", "यह उनका नंबर नहीं", "ये उनका नंबर नहीं",
)  # fmt: skip
_PERSON = (
    "he|she|husband|wife|father|mother|dad|mom|papa|mummy|son|daughter|brother|sister|uncle|"
    "aunty|person|borrower"
)
BEREAVEMENT = (
    "passed away", "pass away", "passed on", "died", "has died", "is no more", "are no more",
    "not alive", "death", "demise", "funeral", f"{_PERSON} * expired|dead", "dehant",
    "deh ant", "guzar gaye|gaya|gayi", "ab nahi rahe|raha|rahi", "nahi rahe", "mar gaye|gaya|gayi",
    "maut ho", "mrityu", "swargvaas|svargvas|swargvas", "swarg sidhar", "nidhan", "antim sanskar",
    "intekaal|inteqal", "देहांत", "गुजर गए|गया|गई", "अब नहीं रहे|रहा|रही", "नहीं रहे",
    "मर गए|गया|गई", "मृत्यु", "मौत", "स्वर्गवास", "निधन",
)  # fmt: skip
# The borrower's own family member: a bereavement in the family, not the borrower's death.
OWN_FAMILY = (
    f"my {_RELATIONS}", f"mere|meri|mera|hamare|hamari|humare {_RELATIONS}",
    f"मेरे|मेरी|मेरा|हमारे {_RELATIONS}",
)  # fmt: skip
ABUSE = (
    "fuck", "fucking", "fucker", "motherfucker", "bastard", "bitch", "asshole",
    "son of a bitch", "idiot", "stupid", "moron", "scoundrel", "rascal", "go to hell",
    "screw you", "kill you", "beat you", "madarchod", "maderchod", "mc", "bc", "behenchod",
    "bhenchod", "benchod", "bhen ke", "chutiya", "chutiye", "gandu", "gaandu", "harami",
    "haramkhor", "haramzada", "haramzade", "kamina", "kamine", "kutta", "kutte", "kutiya",
    "saala", "saale", "saali", "suar", "suvar", "ullu ka pattha", "bevakoof", "jaan se maar",
    "maar dunga|daalunga|dalunga|denge", "dekh lunga|lenge", "teri maa", "tera baap",
    "bhosdi", "bhosdike", "lavde", "lode", "lund", "randi", "jhaatu", "tatti",
    "मादरचोद", "बहनचोद", "भेनचोद", "चूतिया", "चुतिया", "गांडू", "हरामी", "हरामखोर", "हरामजादा",
    "कमीना", "कमीने", "कुत्ता", "कुत्ते", "कुतिया", "साला", "साले", "सुअर", "उल्लू का पट्ठा",
    "जान से मार", "मार दूंगा|डालूंगा", "देख लूंगा", "भोसडी", "रंडी", "बेवकूफ",
)  # fmt: skip
_STAFF = "manager|supervisor|senior|human|person|officer|agent|someone|somebody|executive"
ASK_HUMAN = (
    "human", "real person", "live person", "live agent", "supervisor", "customer care",
    "customer service", f"talk|speak|connect|transfer * {_STAFF}", f"want|need * {_STAFF}",
    "manager|supervisor|senior|officer|agent|insaan|insan|aadmi se baat",
    "manager|supervisor ko bulao|do|dijiye", "kisi insaan|insan|aadmi|aur se baat",
    "baat karao|karvao|karaiye|karvaiye", "not a robot", "robot|machine se baat nahi",
    "complaint", "complain", "shikayat", "escalate", "मैनेजर", "इंसान", "शिकायत", "अधिकारी",
)  # fmt: skip
ASK_WHO = (
    "who is this|it|calling|speaking", "who are you", "who r u", "kaun|kon", "aap kaun",
    "kahan|kaha|kidhar se", "which bank|company", "konsa|kaunsa bank", "from where",
    "where are you calling from", "what is this|it about|regarding", "what is the matter",
    "why are you calling", "why did you call", "what do you want", "kya kaam hai",
    "kya baat hai", "kis baare mein|me", "kis liye", "kisliye", "kyun|kyu|kyon call|phone",
    "are you a|an robot|machine|bot|computer", "is this a|an robot|recording|recorded",
    "robot ho|hai", "कौन", "किस बारे में", "क्या काम है", "कहां से", "क्यों फोन|कॉल",
)  # fmt: skip
ASK_REPEAT = (
    "^ sorry $", "^ what $", "pardon", "come again", "repeat", "say again", "say that again",
    "once again", "one more time", "phir|fir se bolo|boliye|bataiye|batao|kahiye",
    "dobara|dubara bolo|boliye|bataiye|batao", "^ phir|fir se $", "samajh nahi|nai|nhi",
    "samjha|samjhi|samjhe nahi|nai", "nahi samjha|samjhi|samjhe", "did not understand|get",
    "do not understand", "not clear", "can|could not hear", "not audible",
    "awaaz nahi|nai", "sunai nahi", "^ kya $", "^ kya bola|kaha|boli|bole $", "^ hello $",
    "^ hello hello $", "^ hello hello hello $", "^ huh $", "what did you say",
    "what are you saying", "kya bol rahe|rahi", "फिर से", "समझ नहीं", "^ क्या $", "आवाज नहीं",
    "सुनाई नहीं", "^ हेलो $",
)  # fmt: skip
_CALL = "call|phone|ring|baat|कॉल|फोन|बात"
CALLBACK = (
    "call me back|later|again|tomorrow|after|at|in|around|on", "call back", "callback",
    f"{_CALL} * later", f"{_CALL} * baad|bad mein|me|mai|main", f"baad|bad mein|me {_CALL}",
    "call|phone karna|karo|kijiye|karein|karen|karenge|kariye|krna|kro",
    "call|phone kar lena|lijiye|dena|do|dijiye",
    "thodi der", "after some time", "some time later", "busy", "driving", "in a meeting",
    "meeting mein|me|main", "can not talk|speak", "not a good time", "abhi baat nahi",
    "free nahi", "free hokar|hoke|ho ke", "when i am free", "^ abhi nahi $", "^ not now $",
    "ring me", "बाद में कॉल|फोन|बात", "बिजी", "व्यस्त", "कॉल|फोन करना|करें|कीजिए|करो",
    "मीटिंग", "कॉल|फोन कर लेना|दीजिए|देना", "गाडी चला",
)  # fmt: skip
CALL_BAN = (
    "do not call|ring|phone", "never call", "stop calling", "call|phone mat|na|nahi",
    "mat call|phone", "कॉल|फोन मत|न|नहीं",
)  # fmt: skip
ONLY = ("only", "sirf", "keval", "bas", "hamesha", "always", "सिर्फ", "केवल", "हमेशा")
OFFICE_PHONE = ("office number|phone|no|landline", "office ka|ke|vala number", "landline",
                "ऑफिस का|के नंबर", "ऑफिस नंबर")  # fmt: skip
HOME_PHONE = ("home number|phone", "ghar ka|vala number", "घर का नंबर")
THIS_PHONE = ("this number|phone", "is|iss|ye|yeh number|phone", "इस नंबर", "ये नंबर")
OFFICE_HOURS = ("office hours|time|timing|timings", "working hours", "duty time|hours",
                "kaam ke time|samay", "office ke time|samay", "ऑफिस टाइम",
                "ऑफिस के समय")  # fmt: skip
WEEKENDS = ("weekend", "weekends", "chhutti ke din", "छुट्टी के दिन")
WORKING_DAYS = ("weekdays", "working days", "week days")

DISPUTE = (
    "never took|taken * loan", "did not take * loan", "have not taken * loan", "not my loan",
    "i do not have any loan", "never applied", "maine * loan nahi liya|li|liye",
    "koi loan nahi liya", "loan * liya hi nahi", "loan nahi liya|li", "mera loan nahi|nai",
    "mera koi loan nahi", "loan mera nahi",
    "amount galat|wrong|incorrect", "amount * galat|wrong|incorrect", "amount sahi|theek nahi",
    "galat amount|raashi", "wrong amount", "incorrect amount", "paisa|paise galat",
    "extra charges|charge", "charges galat|wrong", "galat charge|charges", "penalty galat|wrong",
    "i do not owe", "do not owe", "dispute", "fraud", "fraudulent", "someone took * my name",
    "mere naam pe|par|se kisi", "kisi ne mere naam", "मैंने लोन नहीं लिया", "मेरा लोन नहीं",
    "राशि गलत", "अमाउंट गलत", "गलत अमाउंट", "धोखा",
)  # fmt: skip
ALREADY_PAID = (
    "already paid", "paid already", "already * paid", "have paid", "has paid", "had paid",
    "i|we paid", "paid it|the|on|last|yesterday|via|by|through|using|online|in|everything",
    "payment done|made|complete|completed|cleared", "payment is|was done|made|complete",
    "payment has been done|made",
    "already done|cleared", "cleared it|all", "cleared the dues", "made the payment",
    "did the payment",
    "sent the money|payment", "transferred", "deducted", "auto debit ho|hua", "kat gaya|gaye|gayi",
    "payment ho gaya|gayi|chuka", "payment kar diya|di|chuka|chuki", "pay kar diya|di|diye|"
    "chuka|chuki", "pay ho gaya|chuka", "bhar diya|diye|di|chuka|chuki", "bhara hai",
    "jama kar diya|di|diye", "neft|rtgs|imps|upi|transfer|online kar diya|di|diye",
    "jama ho gaya|chuka", "jama kara diya", "de diya|diye|di|chuka|chuki",
    "bhej diya|diye|di", "transfer kar diya|diye|di", "clear kar diya|diye", "chuka diya|diye|di",
    "loan close|closed", "closed the loan", "loan band ho gaya", "loan band kar diya",
    "settle kar diya",
    "settle ho gaya", "settled", "foreclosed", "noc mil", "भर दिया|दिए|दी", "जमा कर दिया|दिए|दी",
    "जमा हो गया", "दे दिया|दिए|दी", "पेमेंट हो गया", "पेमेंट कर दिया", "भेज दिया", "चुका दिया",
    "भुगतान कर दिया|दी|दिए|चुका|चुकी", "भुगतान हो गया|गई|चुका|चुकी",
    "bhugtan kar diya|di|diye|chuka|chuki", "bhugtan ho gaya|gayi|chuka",
)  # fmt: skip
COMMITMENT = (
    "will pay", "will definitely|surely pay", "will try to pay", "i will", "i shall", "shall pay",
    "going to pay", "gonna pay", "can pay", "could pay", "able to pay", "will be able",
    "will make * payment", "will transfer|send|deposit|clear|arrange|manage", "pay kar dunga|"
    "dungi|denge|dege", "kar dunga|dungi|denge|dega|degi", "de dunga|dungi|denge|dega|degi|du",
    "dunga|dungi|denge", "bhar dunga|dungi|denge", "bharunga|bharungi|bharenge",
    "jama kar dunga|dungi|denge", "karunga|karungi|karenge", "de|kar deta|deti|dete",
    "de sakta|sakti|sakte",
    "kar sakta|sakti|sakte", "bhar sakta|sakti|sakte", "ho|aa jayega|jaega|jaayega|jayegi|jaegi",
    "arrange kar|karunga|lunga", "manage kar|karunga|lunga", "bhej dunga|dungi|denge",
    "promise", "pakka", "give me", "time chahiye|do|dijiye|dedo", "time de do",
    "need * time|days|din",
    "mohlat", "definitely", "surely", "दे दूंगा|दूंगी|देंगे|दूगा", "भर दूंगा|दूंगी",
    "कर दूंगा|दूंगी|देंगे", "जमा कर दूंगा|दूंगी", "हो जाएगा|जायेगा", "दे सकता|सकती",
    "करूंगा|करूंगी", "दूंगा|दूंगी",
)  # fmt: skip
CANNOT_PAY = (
    "can|could not pay", "not able to pay", "unable to pay", "will not be able",
    "not possible", "no money", "do not have * money|funds|cash", "have no money|funds",
    "no funds", "can not afford|manage", "afford", "paise|paisa|pese nahi|nai|nhi",
    "nahi de|bhar|kar sakta|sakti|sakte|paunga|paungi|payenge", "de|bhar|kar nahi sakta|sakti|"
    "paunga|paungi", "pay nahi kar sakta|sakti|paunga", "possible nahi|nai", "nahi hoga",
    "do not think * can", "nahi ho payega|paega|paayega", "mushkil",
    "difficult", "tough time", "financial problem|crisis|issue|issues", "paise ki problem|dikkat|"
    "tangi", "haath tang|tight", "हाथ तंग", "पैसे नहीं", "पैसा नहीं", "नहीं दे सकता|सकती|पाऊंगा",
    "दे नहीं सकता|सकती", "भर नहीं सकता", "मुश्किल", "संभव नहीं",
)  # fmt: skip
REFUSE = (
    "will not pay", "not going to pay", "not paying", "refuse", "never pay", "no way",
    "why should i pay", "nahi dunga|dungi|denge|bharunga|bharungi|bharenge|karunga|karungi",
    "nahi bharna|dena|karna", "ek paisa|rupaya nahi", "ek bhi paisa", "kuch nahi dunga",
    "jo karna hai kar lo|lijiye", "jo karna hai karo|karlo", "do whatever", "do what you want",
    "sue me", "court",
    "kyu|kyun|kyon dun|du|bharu", "नहीं दूंगा|दूंगी|भरूंगा", "एक पैसा नहीं", "जो करना है कर लो",
)  # fmt: skip
HARDSHIP_REASONS: dict[str, tuple[str, ...]] = {
    "job_loss": (
        "lost * job",
        "job * lost|gone|gayi|chali|chhut|nahi",
        "naukri chali|gayi|chhut|nahi|chhoot",
        "no job",
        "jobless",
        "unemployed",
        "fired",
        "laid off",
        "layoff",
        "terminated",
        "company band|closed",
        "नौकरी चली|छूट|नहीं",
        "बेरोजगार",
    ),
    "medical": (
        "hospital",
        "hospitalised",
        "hospitalized",
        "admitted",
        "medical",
        "surgery",
        "operation",
        "accident",
        "sick",
        "illness",
        "treatment",
        "bimaar",
        "beemar",
        "bimar",
        "tabiyat kharab",
        "tabiyat theek|thik nahi",
        "ilaaj",
        "doctor",
        "cancer",
        "covid",
        "अस्पताल",
        "बीमार",
        "इलाज",
        "ऑपरेशन",
        "तबीयत",
    ),
    "business_loss": (
        "business loss",
        "loss in * business",
        "business is down|slow|closed|bad",
        "business * band|loss|nuksaan|ghaata|mandi",
        "business nahi chal",
        "dhandha|dhanda * band|nahi|mandi|loss|kam",
        "dukaan band",
        "shop * closed",
        "nuksaan",
        "nuksan",
        "ghaata",
        "mandi",
        "व्यापार",
        "धंधा",
        "नुकसान",
        "घाटा",
    ),
    "salary_delayed": (
        "salary not|nahi|nai * received|come|came|credited|aayi|mili|aai|ayi|aaya",
        "salary * late|delayed|pending|ruki|atki",
        "salary * nahi aayi|mili|aai",
        "not received * salary",
        "did not get * salary",
        "salary hold",
        "tankhvah nahi",
        "vetan nahi",
        "सैलरी नहीं",
        "सैलरी * नहीं आई",
        "वेतन नहीं",
        "तनख्वाह नहीं",
    ),
    "other": (
        "family problem|emergency",
        "ghar mein problem|dikkat",
        "emergency",
        "shaadi",
        "wedding",
        "school fees",
        "fees",
        "flood",
        "baadh",
        "pareshani",
        "problem chal",
        "परेशानी",
        "शादी",
    ),
}
PAYMENT_METHODS: dict[str, tuple[str, ...]] = {
    "upi": ("upi", "gpay", "g pay", "google pay", "phonepe", "phone pe", "paytm", "bhim", "qr"),
    "bank_transfer": ("neft", "rtgs", "imps", "net banking", "netbanking", "bank transfer"),
    "auto_debit": ("auto debit", "autodebit", "nach", "ecs", "deducted", "kat gaya|gaye|gayi"),
    "cheque": ("cheque", "check jama"),
    "agent": ("agent", "collection boy", "recovery", "aapke aadmi", "your person|man|guy",
              "field executive"),
    "cash": ("cash", "nakad", "नकद", "कैश"),
    "branch": ("branch", "bank mein|me jaake|jama", "bank ja|jaa ke|kar", "बैंक में|जाकर"),
    "online": ("online", "app", "website", "link", "ऑनलाइन"),
}  # fmt: skip

FULL_AMOUNT = (
    "full", "full amount|payment|dues", "poora|pura|poori|puri|pure|poore", "sab|saara|sare|"
    "saari", "sab kuch", "entire", "whole", "complete", "total", "all of it", "all dues",
    "everything", "पूरा", "पूरी", "पूरे", "सारा", "सारे", "सब",
)  # fmt: skip
HALF_AMOUNT = ("half", "aadha|aadhi|aadhe", "fifty percent", "50 percent", "आधा", "आधी", "आधे")
EMI = ("emi", "emis", "installment", "installments", "instalment", "kisht", "kist", "kishte",
       "किस्त", "ईएमआई")  # fmt: skip
SOME_AMOUNT = ("some amount|money|payment", "kuch paise|amount|payment", "thoda|thodi|thode",
               "jitna ho sake|sakega", "whatever i can", "part payment", "partial",
               "कुछ पैसे", "थोड़ा")  # fmt: skip
REST_LATER = (
    "the rest", "rest of", "rest later|next|after|baad", "and * later|baad",
    "remaining later|next|amount", "balance later|next|amount",
    "baaki|baki * baad|agle|next|later|kal|parso", "baaki ka|ke|ki", "thoda thoda",
    "in installments|parts", "बाकी", "half now", "abhi aadha", "aadha abhi", "आधा अभी", "अभी आधा",
)  # fmt: skip

# --- what the agent itself must never say (agent.guards; QA flags read COLLECTOR_THREATS) ---

# Collector threats beyond plain abuse: RBI Master Direction on outsourcing of financial
# services (2023) and the Fair Practices Code bar intimidation, shaming and false legal threats.
COLLECTOR_THREATS = (
    "police", "jail", "arrest", "arrested", "fir", "warrant", "seize your", "take your house",
    "tell your office|employer|boss|neighbours|neighbors|family|relatives", "shame",
    "your reputation", "ghar aa jayenge|aayenge", "ghar pe log", "police bhej", "jail bhej",
    "giraftaar|giraftar", "izzat", "badnaam", "office mein bata", "पुलिस", "जेल", "गिरफ्तार",
    "बदनाम", "इज्जत", "घर आ जाएंगे", "उठवा",
)  # fmt: skip
INTIMIDATION = (
    "you will regret", "regret it", "consequences", "teach you", "last warning", "or else",
    "come to your house|home|office|workplace", "visit your house|home|office|workplace",
    "recovery agent|agents|team|men", "send someone|people|agents|men", "our people will",
    "we know where you",
    "seize", "repossess", "attach your", "blacklist", "blacklisted", "you will suffer",
    "anjaam", "sabak", "dekh lena", "bhugatna", "gunde", "uthwa", "ghar pe aa|aayenge",
    "अंजाम", "सबक", "भुगतना", "देख लेना", "घर पर आ",
)  # fmt: skip
LEGAL_THREATS = (
    "legal action|notice|proceedings|proceeding|case|steps|department|team", "court", "sue",
    "lawsuit", "lawyer", "advocate", "file a case", "case against you", "criminal", "section 138",
    "cheque bounce case", "arbitration", "sarfaesi", "kanooni|kanuni", "adalat", "mukadma|mukdma",
    "vakil", "case kar|karenge|darj", "notice bhej", "कानूनी", "अदालत", "कोर्ट", "मुकदमा",
    "मुकद्दमा", "वकील", "केस", "नोटिस",
)  # fmt: skip
# Telling anyone else about the debt (RBI FPC: no disclosure to family, employer or neighbours),
# or speaking of another borrower's account.
DISCLOSURE_THREATS = (
    "inform|tell|call|contact|notify|message your wife|husband|father|mother|parents|brother|"
    "sister|son|daughter|family|relatives|neighbours|neighbors|employer|office|boss|manager|"
    "colleagues|friends|references|referees|guarantor|hr",
    "your wife|husband|father|mother|parents|family|relatives|neighbours|neighbors|employer|"
    "office|boss|colleagues|friends|references|guarantor will know",
    "your wife|husband|father|mother|parents|family|relatives|neighbours|neighbors|employer|"
    "office|boss|colleagues|friends|references|guarantor will be told|informed|called",
    "another customer|borrower", "other customers|borrowers", "someone else's", "their loan",
    "ghar valon|walon|vaalon ko", "rishtedar|rishtedaron", "padosi|padosiyon", "office valon",
    "घरवालों", "घर वालों", "रिश्तेदार", "पड़ोसी", "पडोसी", "दफ्तर में बता", "ऑफिस में बता",
)  # fmt: skip
# What only the lender may offer, and the bot never does: waivers, settlements, discounts.
UNAUTHORISED_OFFERS = (
    "waive", "waived", "waiver", "waiving", "settlement", "settle for|at", "one time settlement",
    "ots", "discount", "discounted", "write off", "written off", "writeoff", "forgive",
    "forgiven", "reduce|reduced|lower|lowered|cut|remove|removed the amount|interest|penalty|"
    "charges|dues|balance", "no interest|penalty|charges", "no late fee", "interest free",
    "penalty free", "restructure", "restructured", "restructuring", "moratorium", "concession",
    "cashback", "maaf kar denge|dunga|dege|diya", "maaf ho jayega|jaega",
    "byaj|byaaj|penalty|interest|jurmana maaf", "chhoot|chhut milegi|milega|denge|dunga",
    "माफ कर देंगे|दूंगा|दिया", "माफ हो जाएगा", "ब्याज|पेनल्टी|जुर्माना माफ",
    "छूट मिलेगी|मिलेगा|देंगे|दूंगा", "सेटलमेंट", "डिस्काउंट", "कम कर देंगे|दूंगा|दिया|सकते",
)  # fmt: skip
# A model talking about itself or its instructions: what an injected prompt makes it do.
MODEL_TALK = (
    "as an ai", "ai model", "language model", "chatgpt", "openai", "system prompt", "my prompt",
    "my instructions", "my guidelines", "was instructed|programmed|told to", "can not comply",
    "ignore previous|earlier|prior|all", "developer mode", "jailbreak",
)  # fmt: skip
# Borrower speech addressed to the model rather than the caller: treated as data, never obeyed.
PROMPT_INJECTION = (
    "ignore|disregard|forget|override|bypass * instructions|instruction|rules|prompt|prompts|"
    "guidelines|guardrails|above|previous|everything",
    "system prompt", "system message", "developer mode", "jailbreak", "dan mode", "you are now",
    "from now on you", "act as|like a|an", "pretend to|you", "roleplay", "role play",
    "new instructions", "your instructions|prompt|rules", "repeat|print|reveal|show * prompt|"
    "instructions", "assistant:", "system:", "tool call", "function call", "call the tool|"
    "function", "record_promise", "set_disposition", "schedule_callback", "note_preference",
    "instructions|rules|prompt bhul|bhool|bhulo|bhula", "ab se tum", "निर्देश भूल", "नियम भूल",
    "अब से तुम",
)  # fmt: skip
