"""What simulated borrowers say: phrases per intent, in Indian English and in Hindi.

English-speaking borrowers mix in Hinglish the way people do on Indian calls. Hindi phrases come
in pairs: Devanagari (what Twilio's hi-IN speech recognition returns) and romanized Hinglish
(what en-IN recognition returns for the same words). Slots in braces are filled by
`personas.render`: {name} {first_name} {year} {last4} {last4_spaced} {amount} {date}
{paid_date} {callback_time} {relation} {he} {He} {his}, and the gendered verb endings {raha}
(raha/rahi), {ga} (ga/gi) and {ta} (ta/ti) in the script of the phrase.
"""

from __future__ import annotations

import enum


class Intent(enum.StrEnum):
    GREETING = "greeting"
    CONFIRM_IDENTITY = "confirm_identity"
    RUDE_CONFIRM = "rude_confirm"
    GIVE_YEAR = "give_year"
    GIVE_LAST4 = "give_last4"
    ALREADY_PAID = "already_paid"
    PROMISE = "promise"
    AFTER_SALARY = "after_salary"
    GIVE_DATE = "give_date"
    GIVE_AMOUNT = "give_amount"
    AGREE = "agree"
    GIVE_CALLBACK_TIME = "give_callback_time"
    REFUSE = "refuse"
    DISPUTE = "dispute"
    WRONG_NUMBER = "wrong_number"
    NOT_AT_HOME = "not_at_home"
    TAKE_MESSAGE = "take_message"
    DONT_KNOW = "dont_know"
    DECEASED = "deceased"
    MOURNING = "mourning"
    ABUSE = "abuse"
    ASK_HINDI = "ask_hindi"
    BYE = "bye"


ENGLISH: dict[Intent, tuple[str, ...]] = {
    Intent.GREETING: (
        "Hello?",
        "Yes, hello, who is this?",
        "Haan ji, boliye",
        "Hello, yes tell me",
    ),
    Intent.CONFIRM_IDENTITY: (
        "Yes, speaking",
        "Haan, bol {raha} hoon",
        "Yes, this is {first_name}",
        "Yes yes, {first_name} here, tell me",
        "Haan ji, main hi hoon",
    ),
    Intent.RUDE_CONFIRM: (
        "Yes, what do you want now?",
        "Haan bolo, kya problem hai?",
        "Yes it's me, why do you people keep calling?",
    ),
    Intent.GIVE_YEAR: ("{year}", "It's {year}", "{year}, I was born in {year}", "Year is {year}"),
    Intent.GIVE_LAST4: (
        "{last4}",
        "{last4_spaced}",
        "Last four are {last4}",
        "It ends with {last4}",
    ),
    Intent.ALREADY_PAID: (
        "I already paid it on {paid_date}",
        "Payment ho gaya hai, I paid through UPI on {paid_date}",
        "I have already paid, please check your system",
        "Maine already pay kar diya hai, {paid_date} ko",
        "It's paid madam, I did it on {paid_date} from the app",
    ),
    Intent.PROMISE: (
        "I'll pay {amount} on {date}",
        "I can pay {amount} by {date}",
        "Okay, I will pay {amount} by {date}",
        "{amount} I'll pay on {date}, pakka",
        "Let me pay {amount} by {date}, is that okay?",
    ),
    Intent.AFTER_SALARY: (
        "Salary ke baad",
        "After my salary comes I'll pay",
        "Right now I don't have money, salary aane ke baad kar dun{ga}",
        "Once salary is credited I will pay",
    ),
    Intent.GIVE_DATE: (
        "By {date}",
        "{date}",
        "On {date}",
        "I'll do it on {date}",
        "{date} for sure",
    ),
    Intent.GIVE_AMOUNT: (
        "{amount}",
        "I can pay {amount}",
        "{amount} I can manage",
        "Around {amount}",
    ),
    Intent.AGREE: ("Yes, correct", "Haan, sahi hai", "Yes that's right", "Correct", "Yes, okay"),
    Intent.GIVE_CALLBACK_TIME: (
        "Call me {callback_time}",
        "{callback_time} is better",
        "Please call {callback_time}, I'm in office now",
    ),
    Intent.REFUSE: (
        "I'm not paying anything",
        "I won't pay, do whatever you want",
        "Mujhe nahi dena, don't call me again",
        "I have no intention to pay this",
        "No, I am not going to pay",
    ),
    Intent.DISPUTE: (
        "This amount is wrong, I never took this loan",
        "I already closed this loan, these charges are wrong",
        "I dispute this, the amount is not correct",
        "Ye amount galat hai, I have a complaint about these charges",
        "This is not my loan, I want to raise a dispute",
    ),
    Intent.WRONG_NUMBER: (
        "Wrong number",
        "Sorry, wrong number",
        "There is no {first_name} here, this is a wrong number",
        "Ye mera number nahi hai",
        "I don't know any {first_name}, you have the wrong number",
    ),
    Intent.NOT_AT_HOME: (
        "{He} is not at home, I'm {his} {relation}",
        "Woh ghar pe nahi hain",
        "{He} has gone out, this is {his} {relation} speaking",
        "{He} is not here right now",
    ),
    Intent.TAKE_MESSAGE: (
        "I'll tell {him} to call you back",
        "Okay, I will give {him} the message",
        "Main bata dun{ga}, {he} will call",
    ),
    Intent.DONT_KNOW: ("I don't know", "Pata nahi", "I'm not sure, you ask {him}"),
    Intent.DECEASED: (
        "{He} passed away last month",
        "Unka dehant ho gaya",
        "{He} is no more, {he} passed away",
        "Sorry, {he} expired recently, I am {his} {relation}",
    ),
    Intent.MOURNING: (
        "Please don't call again, we are in mourning",
        "We are not in a state to talk right now",
        "Please, not now, we just lost {him}",
    ),
    Intent.ABUSE: (
        "Stop harassing me, you people are useless",
        "Bakwas band karo, I'll complain to the police",
        "Don't you dare call me again, nonsense people",
        "Get me your supervisor, this is bloody harassment",
        "I'll complain to RBI about you",
    ),
    Intent.ASK_HINDI: ("Hindi mein boliye", "Please Hindi mein baat kijiye"),
    Intent.BYE: ("Okay, thank you", "Theek hai, bye", "Okay bye", "Ok ji, thank you"),
}

HINDI: dict[Intent, tuple[tuple[str, str], ...]] = {
    Intent.GREETING: (
        ("हाँ जी, बोलिए", "haan ji, boliye"),
        ("हेलो, कौन बोल रहा है?", "hello, kaun bol raha hai?"),
        ("हाँ, बताइए", "haan, bataiye"),
    ),
    Intent.CONFIRM_IDENTITY: (
        ("हाँ, बोल {raha} हूँ", "haan, bol {raha} hoon"),
        ("जी हाँ, मैं ही हूँ", "ji haan, main hi hoon"),
        ("हाँ जी, {first_name} बोल {raha} हूँ", "haan ji, {first_name} bol {raha} hoon"),
    ),
    Intent.RUDE_CONFIRM: (
        ("हाँ बोलो, क्या है?", "haan bolo, kya hai?"),
        ("हाँ, अब क्या चाहिए?", "haan, ab kya chahiye?"),
    ),
    Intent.GIVE_YEAR: (("{year}", "{year}"), ("{year} है", "{year} hai")),
    Intent.GIVE_LAST4: (("{last4}", "{last4}"), ("{last4} है", "{last4} hai")),
    Intent.ALREADY_PAID: (
        ("मैंने पहले ही भुगतान कर दिया है", "maine pehle hi payment kar diya hai"),
        ("{paid_date} को पैसे भर दिए थे", "{paid_date} ko paise bhar diye the"),
        ("पेमेंट हो गया है, चेक कर लीजिए", "payment ho gaya hai, check kar lijiye"),
    ),
    Intent.PROMISE: (
        ("{date} तक {amount} दे दूँ{ga}", "{date} tak {amount} de dun{ga}"),
        ("{amount} {date} को भर दूँ{ga}", "{amount} {date} ko bhar dun{ga}"),
        (
            "ठीक है, {date} तक {amount} जमा कर दूँ{ga}",
            "theek hai, {date} tak {amount} jama kar dun{ga}",
        ),
    ),
    Intent.AFTER_SALARY: (
        ("सैलरी के बाद", "salary ke baad"),
        ("तनख्वाह आने के बाद दे दूँ{ga}", "tankhwah aane ke baad de dun{ga}"),
        ("अभी पैसे नहीं हैं, सैलरी आने पर कर दूँ{ga}", "abhi paise nahi hain, salary aane par kar dun{ga}"),
    ),
    Intent.GIVE_DATE: (
        ("{date} तक", "{date} tak"),
        ("{date} को", "{date} ko"),
        ("{date} तक पक्का", "{date} tak pakka"),
    ),
    Intent.GIVE_AMOUNT: (
        ("{amount}", "{amount}"),
        ("{amount} दे सक{ta} हूँ", "{amount} de sak{ta} hoon"),
        ("अभी {amount} दे पाऊँ{ga}", "abhi {amount} de paun{ga}"),
    ),
    Intent.AGREE: (("हाँ, सही है", "haan, sahi hai"), ("जी हाँ", "ji haan"), ("ठीक है", "theek hai")),
    Intent.GIVE_CALLBACK_TIME: (
        ("{callback_time} फ़ोन कीजिए", "{callback_time} phone kijiye"),
        ("{callback_time} बात करते हैं", "{callback_time} baat karte hain"),
    ),
    Intent.REFUSE: (
        ("मुझे नहीं देना", "mujhe nahi dena"),
        ("मैं कुछ नहीं दूँ{ga}, जो करना है कर लो", "main kuch nahi dun{ga}, jo karna hai kar lo"),
        ("नहीं भरूँ{ga}, दोबारा फ़ोन मत करना", "nahi bharun{ga}, dobara phone mat karna"),
    ),
    Intent.DISPUTE: (
        ("ये राशि गलत है, मैंने ये लोन लिया ही नहीं", "ye amount galat hai, maine ye loan liya hi nahi"),
        ("ये चार्ज गलत हैं, मुझे शिकायत करनी है", "ye charges galat hain, mujhe complaint karni hai"),
        ("लोन तो बंद हो गया था, ये बकाया गलत है", "loan to band ho gaya tha, ye bakaya galat hai"),
    ),
    Intent.WRONG_NUMBER: (
        ("ये मेरा नंबर नहीं है", "ye mera number nahi hai"),
        ("गलत नंबर है", "galat number hai"),
        ("यहाँ कोई {first_name} नहीं रहता", "yahan koi {first_name} nahi rehta"),
    ),
    Intent.NOT_AT_HOME: (
        ("वो घर पे नहीं हैं", "woh ghar pe nahi hain"),
        (
            "वो बाहर गए हैं, मैं {relation} बोल {raha} हूँ",
            "woh bahar gaye hain, main {relation} bol {raha} hoon",
        ),
        ("अभी वो नहीं हैं", "abhi woh nahi hain"),
    ),
    Intent.TAKE_MESSAGE: (
        ("मैं उन्हें बता दूँ{ga}", "main unhe bata dun{ga}"),
        ("आने पर बोल दूँ{ga}", "aane par bol dun{ga}"),
    ),
    Intent.DONT_KNOW: (("पता नहीं", "pata nahi"), ("मुझे नहीं मालूम", "mujhe nahi maloom")),
    Intent.DECEASED: (
        ("उनका देहांत हो गया", "unka dehant ho gaya"),
        ("वो अब नहीं रहे", "woh ab nahi rahe"),
        ("पिछले महीने उनकी मौत हो गई", "pichhle mahine unki maut ho gayi"),
    ),
    Intent.MOURNING: (
        ("अभी बात करने की हालत में नहीं हैं", "abhi baat karne ki haalat mein nahi hain"),
        ("कृपया दोबारा फ़ोन मत कीजिए", "kripya dobara phone mat kijiye"),
    ),
    Intent.ABUSE: (
        ("बकवास बंद करो", "bakwas band karo"),
        (
            "परेशान मत करो, पुलिस में शिकायत कर दूँ{ga}",
            "pareshan mat karo, police mein shikayat kar dun{ga}",
        ),
        ("अपने मैनेजर से बात कराओ", "apne manager se baat karao"),
    ),
    Intent.ASK_HINDI: (
        ("हिंदी में बोलिए", "Hindi mein boliye"),
        ("हिंदी में बात कीजिए", "Hindi mein baat kijiye"),
    ),
    Intent.BYE: (
        ("ठीक है, धन्यवाद", "theek hai, dhanyavaad"),
        ("ठीक है", "theek hai"),
        ("अच्छा, नमस्ते", "achha, namaste"),
    ),
}

MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MONTHS_DEVANAGARI = (
    "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून",
    "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर",
)  # fmt: skip
MONTHS_ROMAN = MONTHS_EN
# Counting words for 1..20 thousand ("paanch hazaar"), as people say round amounts.
NUMBERS_ROMAN = (
    "ek", "do", "teen", "chaar", "paanch", "chhah", "saat", "aath", "nau", "das",
    "gyaarah", "baarah", "terah", "chaudah", "pandrah", "solah", "satrah", "athaarah",
    "unnees", "bees",
)  # fmt: skip
NUMBERS_DEVANAGARI = (
    "एक", "दो", "तीन", "चार", "पाँच", "छह", "सात", "आठ", "नौ", "दस",
    "ग्यारह", "बारह", "तेरह", "चौदह", "पंद्रह", "सोलह", "सत्रह", "अठारह", "उन्नीस", "बीस",
)  # fmt: skip
# Who answers for the borrower: (speaker's gender, English word, Devanagari and romanized with
# the Hindi possessive, which agrees with the relative's gender).
RELATIVES: tuple[tuple[str, str, str, str], ...] = (
    ("female", "mother", "उनकी माँ", "unki maa"),
    ("female", "daughter", "उनकी बेटी", "unki beti"),
    ("female", "sister", "उनकी बहन", "unki behen"),
    ("male", "son", "उनका बेटा", "unka beta"),
    ("male", "brother", "उनका भाई", "unka bhai"),
    ("male", "father", "उनके पिताजी", "unke pitaji"),
)
SPOUSES: dict[str, tuple[str, str, str, str]] = {
    "male": ("female", "wife", "उनकी पत्नी", "unki patni"),  # keyed by the borrower's gender
    "female": ("male", "husband", "उनके पति", "unke pati"),
}
