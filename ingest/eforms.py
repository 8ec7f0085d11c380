"""eForms notices (the XML of EU public procurement notices since 2023: UBL 2.3 and the OP-TED
eForms SDK) as readable sections, each value labelled with its business term.

"BT-27 Estimated value: 500,000 EUR": the label is the SDK's business-term number and a plain name,
so a search finds the value by the code a procurement officer knows as well as by words. Sections:
the notice, its buyer and organisations, the procedure, each lot (with its award criteria and
their weights, selection criteria, deadlines, values), and the results of an award notice. Only
the terms below are read; where a notice has a text in several languages, the notice's own
language comes first.

Parsed by defusedxml with DTDs forbidden: a notice never needs one, and one that declares an
external entity is refused before anything is resolved.
"""
from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from .cleaning import clean_block
from .document import Document, PageText, ReadError

# A notice is at most a couple of megabytes (the SDK's 100-lot example is 1.7 MB).
MAX_NOTICE_MB = 50

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "efext": "http://data.europa.eu/p27/eforms-ubl-extensions/1",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
}
_EXTENSION = "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/efext:EformsExtension"

# Codes of the SDK's code lists, in words; other codes are shown as they are.
_WORDS = {
    "open": "open", "restricted": "restricted", "neg-w-call": "negotiated with prior call for competition",
    "neg-wo-call": "negotiated without prior call for competition", "comp-dial": "competitive dialogue",
    "innovation": "innovation partnership", "oth-single": "other single-stage procedure",
    "oth-mult": "other multiple-stage procedure", "comp-tend": "competitive tendering",
    "per-exa": "percentage, exact", "per-mid": "percentage, middle of a range", "poi-exa": "points, exact",
    "poi-mid": "points, middle of a range", "ord-imp": "order of importance", "dec-exa": "decimal, exact",
    "dec-mid": "decimal, middle of a range",
    "price": "price", "quality": "quality", "cost": "cost",
    "services": "services", "works": "works", "supplies": "supplies",
    "selec-w": "at least one winner was chosen", "clos-nw": "no winner was chosen, competition closed",
    "open-nw": "no winner was chosen yet, competition open",
    "DAY": "days", "MONTH": "months", "YEAR": "years", "WEEK": "weeks",
}


def _words(code: str) -> str:
    return _WORDS.get(code, code)


class _Notice:
    def __init__(self, root: Element):
        self.root = root
        self.language = ""
        self.language = self.text(root, "cbc:NoticeLanguageCode")
        self.organisations: dict[str, Element] = {}
        for organisation in root.iterfind(f"{_EXTENSION}/efac:Organizations/efac:Organization", NS):
            key = self.text(organisation, "efac:Company/cac:PartyIdentification/cbc:ID")
            if key:
                self.organisations[key] = organisation

    def texts(self, element: Element | None, path: str) -> list[str]:
        """Every non-empty text at `path`, the notice's own language first, each once."""
        if element is None:
            return []
        found = element.findall(path, NS)
        found.sort(key=lambda e: e.get("languageID", self.language) != self.language)
        values = []
        for item in found:
            text = " ".join(clean_block(item.text or "").split())
            if text and text not in values:
                values.append(text)
        return values

    def text(self, element: Element | None, path: str) -> str:
        values = self.texts(element, path)
        return values[0] if values else ""

    def organisation_name(self, key: str) -> str:
        organisation = self.organisations.get(key)
        return self.text(organisation, "efac:Company/cac:PartyName/cbc:Name") if organisation is not None else ""


def _amount(element: Element | None) -> str:
    if element is None or not (element.text or "").strip():
        return ""
    raw = element.text.strip()
    try:
        number = float(raw)
        shown = f"{number:,.2f}".removesuffix(".00")
    except ValueError:
        shown = raw
    currency = element.get("currencyID", "")
    return f"{shown} {currency}".strip()


def _date(value: str) -> str:
    """'2020-04-03+01:00' -> '2020-04-03'; times keep their offset: '12:00:00+01:00' -> '12:00 (+01:00)'."""
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":
        return value[:10]
    if len(value) >= 8 and value[2] == ":":
        offset = value[8:]
        return f"{value[:5]} ({offset})" if offset and offset != "Z" else value[:5]
    return value


def _when(notice: _Notice, period: Element | None, date_tag: str, time_tag: str) -> str:
    if period is None:
        return ""
    day = _date(notice.text(period, date_tag))
    hour = _date(notice.text(period, time_tag))
    return f"{day} {hour}".strip()


class _Section:
    def __init__(self, heading: str):
        self.heading = heading
        self.lines: list[str] = [heading]

    def add(self, term: str, label: str, value: str) -> None:
        if value:
            self.lines.append(f"{term} {label}: {value}")

    def add_all(self, term: str, label: str, values: list[str]) -> None:
        for value in values:
            self.add(term, label, value)

    def page(self) -> PageText | None:
        return PageText(None, "\n".join(self.lines), self.heading) if len(self.lines) > 1 else None


def _project(section: _Section, notice: _Notice, project: Element | None) -> None:
    section.add("BT-21", "Title", notice.text(project, "cbc:Name"))
    section.add("BT-24", "Description", notice.text(project, "cbc:Description"))
    section.add("BT-22", "Internal identifier", notice.text(project, "cbc:ID"))
    section.add("BT-23", "Main nature", _words(notice.text(project, "cbc:ProcurementTypeCode")))
    section.add("BT-262", "Main classification (CPV)", notice.text(project, "cac:MainCommodityClassification/cbc:ItemClassificationCode"))
    section.add("BT-263", "Additional classifications (CPV)", ", ".join(
        notice.texts(project, "cac:AdditionalCommodityClassification/cbc:ItemClassificationCode")))
    section.add("BT-27", "Estimated value", _amount(project.find("cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount", NS)
                                                     if project is not None else None))
    section.add_all("BT-5101", "Place of performance", notice.texts(project, "cac:RealizedLocation/cac:Address/cbc:CityName"))
    section.add_all("BT-728", "Place of performance, details", notice.texts(project, "cac:RealizedLocation/cbc:Description"))
    if project is not None:
        period = project.find("cac:PlannedPeriod", NS)
        section.add("BT-536", "Start date", _date(notice.text(period, "cbc:StartDate")))
        section.add("BT-537", "End date", _date(notice.text(period, "cbc:EndDate")))
        duration = period.find("cbc:DurationMeasure", NS) if period is not None else None
        if duration is not None and (duration.text or "").strip():
            section.add("BT-36", "Duration", f"{duration.text.strip()} {_words(duration.get('unitCode', ''))}".strip())
    section.add("BT-300", "Additional information", notice.text(project, "cbc:Note"))


def _criteria(section: _Section, notice: _Notice, terms: Element | None) -> None:
    if terms is None:
        return
    for criterion in terms.iterfind("cac:AwardingTerms/cac:AwardingCriterion/cac:SubordinateAwardingCriterion", NS):
        kind = _words(notice.text(criterion, "cbc:AwardingCriterionTypeCode"))
        name = notice.text(criterion, "cbc:Name")
        parts = [f"BT-539 Award criterion type: {kind}" if kind else "", f"BT-734 Award criterion name: {name}" if name else ""]
        for parameter in criterion.iterfind(f"{_EXTENSION}/efac:AwardCriterionParameter", NS):
            code = parameter.find("efbc:ParameterCode", NS)
            value = notice.text(parameter, "efbc:ParameterNumeric")
            if code is not None and value:
                if code.get("listName") == "number-weight":
                    parts.append(f"BT-541 Award criterion weight: {value} ({_words((code.text or '').strip())})")
                elif code.get("listName") == "number-threshold":
                    parts.append(f"BT-541 Award criterion threshold: {value}")
                else:
                    parts.append(f"BT-541 Award criterion number: {value}")
        description = notice.text(criterion, "cbc:Description")
        parts.append(f"BT-540 Award criterion description: {description}" if description else "")
        line = " · ".join(part for part in parts if part)
        if line:
            section.lines.append(line)
    section.add("BT-543", "Award criteria, complicated", notice.text(terms, "cac:AwardingTerms/cac:AwardingCriterion/cbc:CalculationExpression"))
    for selection in terms.iterfind(f"{_EXTENSION}/efac:SelectionCriteria", NS):
        kind = notice.text(selection, "cbc:TendererRequirementTypeCode")
        description = notice.text(selection, "cbc:Description")
        if description:
            section.lines.append(f"BT-747 Selection criterion type: {kind} · BT-750 Selection criterion: {description}"
                                 if kind else f"BT-750 Selection criterion: {description}")


def _lot(notice: _Notice, lot: Element) -> _Section:
    identifier = notice.text(lot, "cbc:ID")
    project = lot.find("cac:ProcurementProject", NS)
    title = notice.text(project, "cbc:Name")
    section = _Section(f"Lot {identifier}: {title}" if title else f"Lot {identifier}")
    section.add("BT-137", "Lot identifier", identifier)
    _project(section, notice, project)
    process = lot.find("cac:TenderingProcess", NS)
    if process is not None:
        section.add("BT-131", "Deadline for receipt of tenders", _when(
            notice, process.find("cac:TenderSubmissionDeadlinePeriod", NS), "cbc:EndDate", "cbc:EndTime"))
        section.add("BT-1311", "Deadline for receipt of requests to participate", _when(
            notice, process.find("cac:ParticipationRequestReceptionPeriod", NS), "cbc:EndDate", "cbc:EndTime"))
        section.add("BT-132", "Public opening", _when(
            notice, process.find("cac:OpenTenderEvent", NS), "cbc:OccurrenceDate", "cbc:OccurrenceTime"))
    terms = lot.find("cac:TenderingTerms", NS)
    if terms is not None:
        validity = terms.find("cac:TenderValidityPeriod/cbc:DurationMeasure", NS)
        if validity is not None and (validity.text or "").strip():
            section.add("BT-98", "Tender validity", f"{validity.text.strip()} {_words(validity.get('unitCode', ''))}")
        _criteria(section, notice, terms)
    return section


def _results(notice: _Notice) -> _Section:
    section = _Section("Results")
    result = notice.root.find(f"{_EXTENSION}/efac:NoticeResult", NS)
    if result is None:
        return section
    section.add("BT-161", "Notice value", _amount(result.find("cbc:TotalAmount", NS)))
    tenders = {notice.text(t, "cbc:ID"): t for t in result.iterfind("efac:LotTender", NS)}
    parties = {notice.text(p, "cbc:ID"): p for p in result.iterfind("efac:TenderingParty", NS)}
    for lot_result in result.iterfind("efac:LotResult", NS):
        lot = notice.text(lot_result, "efac:TenderLot/cbc:ID")
        parts = [f"BT-13713 Lot: {lot}" if lot else ""]
        outcome = _words(notice.text(lot_result, "cbc:TenderResultCode"))
        parts.append(f"BT-142 Winner chosen: {outcome}" if outcome else "")
        for statistic in lot_result.iterfind("efac:ReceivedSubmissionsStatistics", NS):
            count = notice.text(statistic, "efbc:StatisticsNumeric")
            what = notice.text(statistic, "efbc:StatisticsCode")
            parts.append(f"BT-759 Received submissions ({what}): {count}" if count else "")
        maximum = _amount(lot_result.find("efac:FrameworkAgreementValues/cbc:MaximumValueAmount", NS))
        parts.append(f"BT-709 Framework maximum value: {maximum}" if maximum else "")
        for reference in notice.texts(lot_result, "efac:LotTender/cbc:ID"):
            tender = tenders.get(reference)
            if tender is None:
                continue
            value = _amount(tender.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS))
            parts.append(f"BT-720 Tender value: {value}" if value else "")
            party = parties.get(notice.text(tender, "efac:TenderingParty/cbc:ID"))
            for tenderer in notice.texts(party, "efac:Tenderer/cbc:ID"):
                name = notice.organisation_name(tenderer)
                parts.append(f"BT-500 Tenderer: {name}" if name else "")
        line = " · ".join(part for part in parts if part)
        if line:
            section.lines.append(line)
    for contract in result.iterfind("efac:SettledContract", NS):
        parts = [f"BT-150 Contract identifier: {notice.text(contract, 'efac:ContractReference/cbc:ID')}",
                 f"BT-145 Contract conclusion date: {_date(notice.text(contract, 'cbc:IssueDate'))}"]
        section.lines.append(" · ".join(p for p in parts if not p.endswith(": ")))
    return section


def _general(notice: _Notice) -> list[_Section]:
    root = notice.root
    general = _Section("Notice")
    general.add("BT-02", "Notice type", notice.text(root, "cbc:NoticeTypeCode"))
    general.add("BT-701", "Notice identifier", notice.text(root, "cbc:ID"))
    general.add("BT-757", "Notice version", notice.text(root, "cbc:VersionID"))
    general.add("BT-05", "Notice dispatch date", _date(notice.text(root, "cbc:IssueDate")))
    general.add("BT-01", "Legal basis", notice.text(root, "cbc:RegulatoryDomain"))
    general.add("BT-702", "Notice language", notice.language)
    general.add("BT-04", "Procedure identifier", notice.text(root, "cbc:ContractFolderID"))
    buyer = _Section("Buyer")
    for party in root.iterfind("cac:ContractingParty", NS):
        key = notice.text(party, "cac:Party/cac:PartyIdentification/cbc:ID")
        organisation = notice.organisations.get(key)
        buyer.add("BT-500", "Buyer name", notice.organisation_name(key))
        if organisation is not None:
            buyer.add("BT-513", "Buyer city", notice.text(organisation, "efac:Company/cac:PostalAddress/cbc:CityName"))
            buyer.add("BT-514", "Buyer country", notice.text(organisation, "efac:Company/cac:PostalAddress/cac:Country/cbc:IdentificationCode"))
            buyer.add("BT-506", "Buyer e-mail", notice.text(organisation, "efac:Company/cac:Contact/cbc:ElectronicMail"))
        buyer.add("BT-11", "Buyer legal type", notice.text(party, "cac:ContractingPartyType/cbc:PartyTypeCode"))
        buyer.add("BT-10", "Activity of the authority", notice.text(party, "cac:ContractingActivity/cbc:ActivityTypeCode"))
        buyer.add("BT-508", "Buyer profile", notice.text(party, "cbc:BuyerProfileURI"))
    organisations = _Section("Organisations")
    for organisation in notice.organisations.values():
        name = notice.text(organisation, "efac:Company/cac:PartyName/cbc:Name")
        place = ", ".join(v for v in (notice.text(organisation, "efac:Company/cac:PostalAddress/cbc:CityName"),
                                      notice.text(organisation, "efac:Company/cac:PostalAddress/cac:Country/cbc:IdentificationCode")) if v)
        organisations.add("BT-500", "Organisation", f"{name} ({place})" if place else name)
    procedure = _Section("Procedure")
    _project(procedure, notice, root.find("cac:ProcurementProject", NS))
    process = root.find("cac:TenderingProcess", NS)
    procedure.add("BT-105", "Procedure type", _words(notice.text(process, "cbc:ProcedureCode")))
    procedure.add("BT-88", "Procedure features", notice.text(process, "cbc:Description"))
    return [general, buyer, procedure, organisations]


def read(path: Path) -> Document:
    """Read an eForms notice; ReadError when it is not well-formed XML or declares a DTD."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import parse

    size = path.stat().st_size
    if size > MAX_NOTICE_MB * 1024 * 1024:
        raise ReadError(f"rejected: {size / 1024 / 1024:.0f} MB is not an eForms notice (they are a few MB at most)")
    try:
        root = parse(str(path), forbid_dtd=True).getroot()
    except DefusedXmlException as exc:
        raise ReadError(f"refused: the XML declares a DTD or entities, which a notice never needs ({type(exc).__name__})") from None
    except ParseError as exc:
        raise ReadError(f"corrupt XML notice ({str(exc)[:120]})") from None
    notice = _Notice(root)
    sections = _general(notice)
    lots = [lot for lot in root.iterfind("cac:ProcurementProjectLot", NS)]
    sections += [_lot(notice, lot) for lot in lots] + [_results(notice)]
    pages = [page for page in (section.page() for section in sections) if page]
    if not pages:
        raise ReadError("no extractable text (an empty notice?)")
    kind_name = root.tag.rsplit("}", 1)[-1]
    title = notice.text(root, "cac:ProcurementProject/cbc:Name") or path.stem.replace("_", " ")
    return Document(kind="eforms", title=f"{title} ({kind_name})", pages=pages)
