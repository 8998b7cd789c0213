"""CDRs: importing call records and reporting on them. importer (the import and generated CDRs;
it names the others' public names too), writer (the SQLite bulk writer), pg_copy (PostgreSQL's
COPY writer), and the parser, light to import because a child process runs it: fields (the
columns, one field's checks, the header), rows (the row parser and its column fast paths),
csvsource (reading the file into parsed batches), protocol (both ends of the child-process pipe)
and child (the child's entry point and the parser's former names). pricing (rating rows that came
without money, light to import too), results (what an import reports), reports (the CDR report),
rerate (re-rating a period with the current cards), prune (retention).
"""
