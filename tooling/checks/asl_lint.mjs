// Validates state machine definitions with the AWS Toolkit's ASL language service.
// asl-validator checks the state graph; this catches what it lets through, notably misspelled
// fields inside Retry/Catch entries ("MaxAttempt", "BackoffRates"), which Step Functions rejects
// at deploy time only. Usage: node tooling/checks/asl_lint.mjs FILE.asl.json...
import { readFileSync } from "node:fs";
import { getLanguageService } from "amazon-states-language-service";
import { TextDocument } from "vscode-languageserver-textdocument";

const SEVERITY = { 1: "error", 2: "warning", 3: "info", 4: "hint" };
const service = getLanguageService({});
let failed = 0;

for (const path of process.argv.slice(2)) {
  const document = TextDocument.create(path, "json", 1, readFileSync(path, "utf8"));
  const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));
  // Errors and warnings both fail: the service reports unknown properties as warnings.
  const problems = diagnostics.filter((d) => d.severity <= 2);
  for (const d of problems) {
    const { line, character } = d.range.start;
    console.error(`${path}:${line + 1}:${character + 1}: ${SEVERITY[d.severity]}: ${d.message}`);
  }
  failed += problems.length;
  if (problems.length === 0) console.log(`✓ ${path}: no ASL language-service findings`);
}
process.exit(failed ? 1 : 0);
