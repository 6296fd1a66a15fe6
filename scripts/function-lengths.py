#!/usr/bin/env python3
"""Lists the functions in C++ sources longer than a limit (default 80 lines).

A function is a brace block at namespace or class level whose opening line does not start a
namespace, class, struct, enum, union or an initializer list. Lines are counted from the line
of the opening brace's declaration to the closing brace. It is a heuristic (no C++ parser), good
enough to track long functions over time:

    scripts/function-lengths.py src            # functions over 80 lines, longest first
    scripts/function-lengths.py src --limit 60 --summary
"""
import argparse
import pathlib
import re
import sys

NON_FUNCTION = re.compile(r"^\s*(?:template\s*<.*>\s*)?(namespace|class|struct|enum|union|extern\s+\"C\")\b")


def strip_code(text):
    """Blanks out comments, string and character literals, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * text[i:j].count("\n"))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    code = strip_code(path.read_text(errors="replace"))
    lines = code.split("\n")
    stack = []  # (kind, start_line, name)
    found = []
    for lineno, line in enumerate(lines, 1):
        for pos, ch in enumerate(line):
            if ch == "{":
                inside_function = any(k == "function" for k, _, _ in stack)
                if inside_function:
                    stack.append(("block", lineno, ""))
                    continue
                # The declaration: text since the last ; { or } before this brace.
                before = "\n".join(lines[max(0, lineno - 8):lineno - 1] + [line[:pos]])
                decl = re.split(r"[;{}]", before)[-1].strip()
                if NON_FUNCTION.match(decl) or not decl.endswith(")") and not re.search(
                        r"\)\s*(const|override|noexcept|final|->\s*[\w:<>&*]+|\s)*$", decl):
                    stack.append(("scope", lineno, ""))
                    continue
                if re.search(r"=\s*$", decl) or not re.search(r"\w+\s*\(", decl):
                    stack.append(("scope", lineno, ""))
                    continue
                name = re.findall(r"([~\w:]+)\s*\(", decl)
                start = lineno - decl.count("\n")
                stack.append(("function", start, name[0] if name else "?"))
            elif ch == "}" and stack:
                kind, start, name = stack.pop()
                if kind == "function":
                    found.append((lineno - start + 1, name, start))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("--summary", action="store_true", help="only the counts")
    args = ap.parse_args()
    rows = []
    total = 0
    for root in args.paths:
        root = pathlib.Path(root)
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.suffix in (".cpp", ".cc", ".h", ".hpp"))
        for f in files:
            for length, name, start in functions(f):
                total += 1
                if length > args.limit:
                    rows.append((length, f"{f}:{start}", name))
    rows.sort(reverse=True)
    if not args.summary:
        for length, where, name in rows:
            print(f"{length:5d}  {where}  {name}")
    print(f"{len(rows)} of {total} functions longer than {args.limit} lines", file=sys.stdout)


if __name__ == "__main__":
    main()
