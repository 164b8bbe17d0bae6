// The report page's stylesheet and scripts, inlined into every report (no network).
#pragma once

namespace attune::report {

extern const char* const kStyle;
// Runs first: records script errors on <html data-script-errors> and shows them.
extern const char* const kErrorHook;
// Legend clicks hide or show a series; sets <html data-report-ready="1"> when done.
extern const char* const kScript;

}  // namespace attune::report
