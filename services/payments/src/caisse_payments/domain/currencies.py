"""ISO 4217 currency codes money can be held in (an integer amount of minor units).

Source: ISO 4217 List One published by SIX Group, the standard's maintenance agency, on
2026-01-01 (``Pblshd="2026-01-01"``), as shipped in the ``iso4217`` package 1.16.20260101
(its ``table.xml`` is that list). A committed table, not a dependency: the list changes a few
times a year at most, and adding the package rewrote all of uv.lock. Left out: the codes whose
minor unit is "N.A." (precious metals XAU XAG XPD XPT, bond-market units XBA-XBD, XDR, XSU,
XUA, XTS "for testing", XXX "no currency"): an integer of minor units means nothing for them.
To refresh after an amendment: every ``<Ccy>`` of the new list whose ``<CcyMnrUnts>`` is a
number, and the date above.
"""

from __future__ import annotations

ISO_4217_PUBLISHED = "2026-01-01"
_LIST_ONE = """
        AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF
        BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF
        CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD
        EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD
        HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
        KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
        MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR
        MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
        PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
        SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
        TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV
        WST XAD XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
"""
ISO_4217: frozenset[str] = frozenset(_LIST_ONE.split())
