//! Benchmark inputs: BHYT card lists laid out like the departments' own
//! workbooks, at three scales. Deterministic (a seeded generator per file);
//! the files are not committed. See the README, "Benchmark".
//!
//! ```text
//! bench_gen --scale commune|province|big [--files N] [--rows N] [--inline-strings] --out DIR
//! ```
//!
//! `--inline-strings` writes every text cell inline (`t="inlineStr"`, an
//! empty shared-string table), as many exporters and report servers do
//! instead of Excel's shared strings.
//!
//! Writes `DIR/bhyt/<commune>.xlsx` and `DIR/expected.json` (the person
//! counts by beneficiary group every tool must reproduce).
//!
//! The mess in each workbook (one sheet, "DS BHYT"):
//! * a title block: committee and national motto (rows 1-2), a merged title
//!   (row 3), a blank row;
//! * a two-row header (rows 5-6): single headers merged down over both rows,
//!   "Hạn thẻ" merged across "Từ ngày" / "Đến ngày";
//! * a numbering row "(1)" … "(12)" (row 7);
//! * data rows grouped by village, each group closed by a subtotal row
//!   ("Cộng bản …", its count in the note column, no row number);
//! * birth dates as real Excel dates (65 %) or text "dd/mm/yyyy" (35 %);
//!   card end dates as text or dates;
//! * personal IDs as text (60 %) or as numbers (40 %, which drops the leading
//!   zero of the province code: 11 digits left);
//! * 0.5 % of persons listed twice (the same row again, later in the file):
//!   they count once;
//! * footer: a grand-total row, a date line, signature titles and names.
//!
//! Every data row is valid, so a tool that drops non-data rows and counts
//! distinct IDs per group reproduces `expected.json`.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook};
use std::collections::BTreeMap;
use std::path::PathBuf;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const FAMILY: &[&str] = &[
    "Lò", "Lường", "Tòng", "Quàng", "Vàng", "Giàng", "Lý", "Sùng", "Hoàng", "Nguyễn", "Cà", "Điêu",
];
const MIDDLE_M: &[&str] = &["Văn", "A", "Seo", "Văn", "Đức"];
const MIDDLE_F: &[&str] = &["Thị", "Thị", "Thị", "Mỹ"];
const GIVEN: &[&str] = &[
    "Pọm", "Xuân", "Hoa", "Dung", "Sính", "Pử", "Chứ", "Mai", "Lả", "Khánh", "Ún", "Thoa", "Tuấn",
    "Bình", "Hương", "Páo", "Mỷ", "Chiến", "Thủy", "Ngọc",
];
const VILLAGES: &[&str] = &[
    "Nà Phát",
    "Pá Khoang",
    "Hua Pầu",
    "Bản Lướt",
    "Nà Ngò",
    "Phiêng Cảm",
    "Nà Khương",
    "Mường Kim",
    "Huổi Ke",
    "Nậm Ngùa",
];
/// Card group prefix, its share in thousandths, and the list's own label.
const GROUPS: &[(&str, u64, &str)] = &[
    ("DT", 550, "Người DTTS sống ở vùng có điều kiện KT-XH ĐBKK"),
    ("HN", 60, "Người thuộc hộ nghèo"),
    ("CN", 50, "Người thuộc hộ cận nghèo"),
    ("BT", 90, "Người hưởng trợ cấp BTXH hằng tháng"),
    ("GD", 120, "Hộ gia đình"),
    ("TE", 80, "Trẻ em dưới 6 tuổi"),
    ("HT", 50, "Người hưởng lương hưu"),
];
/// Province codes of the personal ID; the n-th million of persons gets the
/// n-th code, so IDs stay unique up to 5 million persons.
const PROVINCES: &[&str] = &["012", "011", "014", "015", "010"];

fn group_of(prefix: &str) -> &'static str {
    match prefix {
        "DT" => "ethnic_minority",
        "HN" | "CN" => "poor_near_poor",
        "BT" => "social_protection",
        _ => "other",
    }
}

struct Person {
    name: String,
    birth: (u16, u8, u8),
    female: bool,
    pid: String,
    card: String,
    bhxh: String,
    group: usize,
}

fn person(rng: &mut Rng, global: u64) -> Person {
    let female = rng.chance(0.5);
    let year = 1935 + rng.below(91) as u16; // 1935..=2025
    let month = 1 + rng.below(12) as u8;
    let day = 1 + rng.below(28) as u8;
    let century = u64::from(year >= 2000);
    let g = u64::from(female) + 2 * century;
    let prov = PROVINCES[(global / 1_000_000) as usize % PROVINCES.len()];
    let pid = format!("{prov}{g}{:02}{:06}", year % 100, global % 1_000_000);
    let mut x = rng.below(1000);
    let mut group = GROUPS.len() - 1;
    for (i, (_, share, _)) in GROUPS.iter().enumerate() {
        if x < *share {
            group = i;
            break;
        }
        x -= share;
    }
    let bhxh = format!("12{:08}", global % 100_000_000);
    let card = format!("{}{}12{}", GROUPS[group].0, 1 + rng.below(5), bhxh);
    let name = format!(
        "{} {} {}",
        rng.pick(FAMILY),
        if female {
            rng.pick(MIDDLE_F)
        } else {
            rng.pick(MIDDLE_M)
        },
        rng.pick(GIVEN)
    );
    Person {
        name,
        birth: (year, month, day),
        female,
        pid,
        card,
        bhxh,
        group,
    }
}

struct Counts(BTreeMap<&'static str, u64>);

fn write_workbook(
    path: &std::path::Path,
    commune: &str,
    rows: u64,
    first_global: u64,
    seed: u64,
    counts: &mut Counts,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let mut rng = Rng(seed);
    let mut wb = Workbook::new();
    let fixed = ExcelDateTime::from_ymd(2026, 6, 20)?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&fixed));
    let ws = wb.add_worksheet();
    ws.set_name("DS BHYT")?;
    let bold = Format::new().set_bold();
    let head = Format::new()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_text_wrap();
    let date = Format::new().set_num_format("dd/mm/yyyy");

    ws.write_string_with_format(0, 0, format!("UBND XÃ {}", commune.to_uppercase()), &bold)?;
    ws.write_string_with_format(0, 5, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &bold)?;
    ws.write_string_with_format(1, 5, "Độc lập - Tự do - Hạnh phúc", &bold)?;
    ws.merge_range(
        2,
        0,
        2,
        11,
        "DANH SÁCH NGƯỜI THAM GIA BẢO HIỂM Y TẾ 6 THÁNG ĐẦU NĂM 2026",
        &head,
    )?;
    let singles = [
        (0u16, "TT"),
        (1, "Họ và tên"),
        (2, "Ngày sinh"),
        (3, "Giới tính"),
        (4, "Số định danh cá nhân"),
        (5, "Mã thẻ BHYT"),
        (6, "Mã số BHXH"),
        (7, "Bản"),
        (8, "Đối tượng"),
        (11, "Ghi chú"),
    ];
    for (c, t) in singles {
        ws.merge_range(4, c, 5, c, t, &head)?;
    }
    ws.merge_range(4, 9, 4, 10, "Hạn thẻ", &head)?;
    ws.write_string_with_format(5, 9, "Từ ngày", &head)?;
    ws.write_string_with_format(5, 10, "Đến ngày", &head)?;
    for c in 0..12u16 {
        ws.write_string_with_format(6, c, format!("({})", c + 1), &head)?;
    }

    let mut r: u32 = 7;
    let villages = 6 + (seed % 5) as usize;
    let per_village = rows / villages as u64;
    let mut written = 0u64;
    let mut tt = 0u64;
    let mut repeat: Vec<usize> = Vec::new();
    let mut people: Vec<Person> = Vec::new();
    for v in 0..villages {
        let n = if v + 1 == villages {
            rows - written
        } else {
            per_village
        };
        let village = VILLAGES[v % VILLAGES.len()];
        let mut in_village = 0u64;
        for _ in 0..n {
            // A person listed twice: the same row again, later in the file.
            let p_idx = if !repeat.is_empty() && rng.chance(0.005) {
                repeat.swap_remove(rng.below(repeat.len() as u64) as usize)
            } else {
                let p = person(&mut rng, first_global + people.len() as u64);
                *counts.0.entry("total").or_default() += 1;
                *counts.0.entry(group_of(GROUPS[p.group].0)).or_default() += 1;
                people.push(p);
                if rng.chance(0.005) {
                    repeat.push(people.len() - 1);
                }
                people.len() - 1
            };
            let p = &people[p_idx];
            tt += 1;
            ws.write_number(r, 0, tt as f64)?;
            ws.write_string(r, 1, &p.name)?;
            let (y, m, d) = p.birth;
            if rng.chance(0.35) {
                ws.write_string(r, 2, format!("{d:02}/{m:02}/{y}"))?;
            } else {
                ws.write_datetime_with_format(r, 2, ExcelDateTime::from_ymd(y, m, d)?, &date)?;
            }
            ws.write_string(r, 3, if p.female { "Nữ" } else { "Nam" })?;
            if rng.chance(0.4) {
                ws.write_number(r, 4, p.pid.parse::<u64>().expect("digits") as f64)?;
            } else {
                ws.write_string(r, 4, &p.pid)?;
            }
            ws.write_string(r, 5, &p.card)?;
            ws.write_string(r, 6, &p.bhxh)?;
            ws.write_string(r, 7, village)?;
            ws.write_string(r, 8, GROUPS[p.group].2)?;
            ws.write_datetime_with_format(r, 9, ExcelDateTime::from_ymd(2026, 1, 1)?, &date)?;
            if rng.chance(0.5) {
                ws.write_string(r, 10, "31/12/2026")?;
            } else {
                ws.write_datetime_with_format(
                    r,
                    10,
                    ExcelDateTime::from_ymd(2026, 12, 31)?,
                    &date,
                )?;
            }
            r += 1;
            in_village += 1;
        }
        written += n;
        ws.write_string_with_format(r, 1, format!("Cộng bản {village}"), &bold)?;
        ws.write_string_with_format(r, 11, format!("{in_village} người"), &bold)?;
        r += 1;
    }
    ws.write_string_with_format(r, 1, "Tổng cộng", &bold)?;
    ws.write_string_with_format(r, 11, format!("{rows} người"), &bold)?;
    r += 2;
    ws.write_string(r, 7, format!("{commune}, ngày 20 tháng 6 năm 2026"))?;
    r += 1;
    ws.write_string_with_format(r, 1, "Người lập biểu", &bold)?;
    ws.write_string_with_format(r, 7, "TM. ỦY BAN NHÂN DÂN", &bold)?;
    r += 1;
    ws.write_string_with_format(r, 7, "CHỦ TỊCH", &bold)?;
    r += 4;
    ws.write_string(r, 1, "Lò Thị Ún")?;
    ws.write_string(r, 7, "Vàng A Páo")?;
    wb.save(path)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut scale = String::from("commune");
    let mut files: Option<u64> = None;
    let mut rows: Option<u64> = None;
    let mut out: Option<PathBuf> = None;
    let mut inline = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scale" => scale = args.next().ok_or("--scale needs a value")?,
            "--files" => files = Some(args.next().ok_or("--files needs a value")?.parse()?),
            "--rows" => rows = Some(args.next().ok_or("--rows needs a value")?.parse()?),
            "--out" => out = Some(args.next().ok_or("--out needs a value")?.into()),
            "--inline-strings" => inline = true,
            "-h" | "--help" => {
                println!(
                    "bench_gen --scale commune|province|big [--files N] [--rows N] [--inline-strings] --out DIR"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (def_files, def_rows) = match scale.as_str() {
        "commune" => (1, 20_000),
        "province" => (100, 20_000),
        "big" => (1, 500_000),
        other => return Err(format!("unknown scale {other}").into()),
    };
    let files = files.unwrap_or(def_files);
    let rows = rows.unwrap_or(def_rows);
    let out = out.ok_or("--out DIR is required")?;
    let dir = out.join("bhyt");
    std::fs::create_dir_all(&dir)?;
    // Each file is independent: generate in parallel, merge the counts.
    let results: Vec<Result<Counts, String>> = {
        use rayon::prelude::*;
        (0..files)
            .into_par_iter()
            .map(|i| {
                let commune = format!("Xã số {:03}", i + 1);
                let path = dir.join(format!("Danh sách BHYT {commune}.xlsx"));
                let mut counts = Counts(BTreeMap::new());
                // A file's persons never overlap another's: 1,000,000 / files
                // IDs each would not do for `big`, so space them by rows.
                write_workbook(
                    &path,
                    &commune,
                    rows,
                    i * rows,
                    0x7045_6807 + i,
                    &mut counts,
                )
                .map_err(|e| format!("{}: {e}", path.display()))?;
                if inline {
                    inline_strings(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                Ok(counts)
            })
            .collect()
    };
    let mut total: BTreeMap<&str, u64> = BTreeMap::new();
    for r in results {
        for (k, v) in r?.0 {
            *total.entry(k).or_default() += v;
        }
    }
    for g in [
        "ethnic_minority",
        "poor_near_poor",
        "social_protection",
        "other",
    ] {
        total.entry(g).or_default();
    }
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "scale": scale, "files": files, "rows_per_file": rows, "persons": total,
        "strings": if inline { "inline" } else { "shared" },
    }))?;
    std::fs::write(out.join("expected.json"), json + "\n")?;
    println!("{} workbooks in {}", files, dir.display());
    Ok(())
}

/// Rewrite a saved workbook so that every shared-string cell holds its text
/// inline (`<c t="inlineStr"><is>…</is></c>`) and the shared-string table is
/// empty. The `<si>` bodies are already escaped XML and are valid `<is>`
/// bodies as they stand.
fn inline_strings(path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::{Read, Write};
    let bytes = std::fs::read(path)?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    let mut sst = String::new();
    zip.by_name("xl/sharedStrings.xml")?
        .read_to_string(&mut sst)?;
    let mut strings: Vec<&str> = Vec::new();
    let mut rest = sst.as_str();
    while let Some(at) = rest.find("<si>") {
        let body = &rest[at + 4..];
        let end = body.find("</si>").ok_or("unterminated <si>")?;
        strings.push(&body[..end]);
        rest = &body[end + 5..];
    }
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zip.len() {
        let mut f = zip.by_index(i)?;
        let name = f.name()?.into_owned();
        let mut body = String::new();
        f.read_to_string(&mut body)?;
        let body = if name == "xl/sharedStrings.xml" {
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"0\" uniqueCount=\"0\"/>".to_string()
        } else if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            inline_cells(&body, &strings)?
        } else {
            body
        };
        out.start_file(name, opts)?;
        out.write_all(body.as_bytes())?;
    }
    let bytes = out.finish()?.into_inner();
    std::fs::write(path, bytes)?;
    Ok(())
}

fn inline_cells(sheet: &str, strings: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let mut out = String::with_capacity(sheet.len() * 2);
    let mut rest = sheet;
    while let Some(at) = rest.find("<c ") {
        out.push_str(&rest[..at]);
        let cell = &rest[at..];
        let tag_end = cell.find('>').ok_or("unterminated <c")? + 1;
        let tag = &cell[..tag_end];
        if tag.contains(" t=\"s\"") && !tag.ends_with("/>") {
            let close = cell.find("</c>").ok_or("unterminated cell")?;
            let inner = &cell[tag_end..close];
            let idx: usize = inner
                .strip_prefix("<v>")
                .and_then(|v| v.strip_suffix("</v>"))
                .ok_or("shared-string cell without <v>")?
                .parse()?;
            let text = strings.get(idx).ok_or("shared-string index out of range")?;
            out.push_str(&tag.replace(" t=\"s\"", " t=\"inlineStr\""));
            out.push_str("<is>");
            out.push_str(text);
            out.push_str("</is></c>");
            rest = &cell[close + 4..];
        } else {
            out.push_str(tag);
            rest = &cell[tag_end..];
        }
    }
    out.push_str(rest);
    Ok(out)
}
