// Reference curve files: one JSON document per reference (format in docs/references.md), kept in
// a references directory: --out/--dir > $CIFARBENCH_REFERENCES > $XDG_DATA_HOME/cifarbench/
// references > ~/.local/share/cifarbench/references.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "results/reference_curve.h"

namespace cb::results {

inline constexpr const char* kReferenceFormat = "cifarbench-reference";
inline constexpr int kReferenceVersion = 1;

nlohmann::json reference_to_json(const ReferenceCurve& ref);
// Throws InputError naming `where` (the file) and the field that is missing or malformed.
ReferenceCurve reference_from_json(const nlohmann::json& j, const std::string& where);

// The directory `explicit_dir` names, else the default above.
std::filesystem::path reference_directory(const std::string& explicit_dir);
// The default file stem of a reference: model_recipe_dataset (and _framework when filtered),
// with anything but letters, digits, '.', '-' and '_' replaced by '-'.
std::string default_reference_name(const ReferenceCurve& ref, const std::string& framework);

// Writes atomically; the file's stem is the reference's name.
void write_reference(const std::filesystem::path& file, const ReferenceCurve& ref);
// Reads one file; a missing, unreadable or malformed file is an InputError naming it.
ReferenceCurve read_reference(const std::filesystem::path& file);
// Every *.json in `dir`, by name; an absent directory holds none.
std::vector<ReferenceCurve> read_reference_directory(const std::filesystem::path& dir);
// FILE (an existing path, or one ending in .json) or NAME (dir/NAME.json).
std::filesystem::path resolve_reference(const std::string& file_or_name,
                                        const std::filesystem::path& dir);

}  // namespace cb::results

namespace cb::results {

// The references a check uses: the one `file_or_name` names, or (when empty) every one in `dir`.
// None at all is an InputError naming where they were looked for.
std::vector<ReferenceCurve> load_references(const std::string& file_or_name,
                                            const std::filesystem::path& dir);

}  // namespace cb::results
