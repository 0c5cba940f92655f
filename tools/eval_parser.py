import json,sys,collections,re,time
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parents[1]))
from kremlin.parser.page import parse_page
from schemas.page import Reject
ZW=dict.fromkeys(map(ord,"\u200b\xad"),None)
labs=[json.loads(l.translate(ZW) if __import__("os").environ.get("NOZW") else l) for l in open("/work/shared/corpus/labels.jsonl")]
want=sys.argv[1] if len(sys.argv)>1 else None
nshow=int(sys.argv[2]) if len(sys.argv)>2 else 5
bad=collections.defaultdict(list); t0=time.time()
tot=collections.Counter()
for l in labs:
    txt=open('/work/shared/corpus/raw/'+l['file'],encoding='utf-8').read()
    p=parse_page(txt)
    if isinstance(p,Reject): bad['reject'].append((l['file'],p.reason,p.message)); continue
    h=p.header
    def chk(name,exp,got):
        tot[name]+=1
        if exp!=got: bad[name].append((l['file'],exp,got))
    chk('title',l['title'],h.title)
    chk('summary',l['summary'],'\n\n'.join(h.summary) or None)
    chk('place',l['place'],h.place)
    chk('time',l['time'],h.time_text)
    chk('sections',l['sections'],p.footer.sections)
    hid=l['hidden_tags']
    for f,lf in (('geography','geography'),('topics','topics'),('persons','persons')):
        full=l[lf]; vis=full[:4] if hid and len(full)>4 else full
        got=getattr(p.footer,f)
        tot[f]+=1
        if got!=full and got!=vis: bad[f].append((l['file'],vis,got))
    chk('pubtext',l['publication_datetime_text'],p.footer.publication_text)
    exp=l['paragraphs']; got=[x.text for x in p.paragraphs]
    tot['paragraphs']+=1
    if exp!=got:
        i=0
        while i<min(len(exp),len(got)) and exp[i]==got[i]: i+=1
        bad['paragraphs'].append((l['file'],f'#{i}/{len(exp)} '+(exp[i][:150] if i<len(exp) else '<end>'), f'#{i}/{len(got)} '+(got[i][:150] if i<len(got) else '<end>')))
    el=[t['label'] for t in l['turns']]; gl=[t.label for t in p.turns]
    if el or gl:
        tot['turns_labels']+=1; tot['turns']+=1
        if el!=gl:
            i=0
            while i<min(len(el),len(gl)) and el[i]==gl[i]: i+=1
            bad['turns_labels'].append((l['file'],f'#{i}/{len(el)} '+(el[i] if i<len(el) else '<end>'), f'#{i}/{len(gl)} '+(gl[i] if i<len(gl) else '<end>')))
        et=[t['text'] for t in l['turns']]; gt=[t.text for t in p.turns]
        if el==gl and et!=gt:
            bad['turns_text'].append((l['file'],[t[:100] for t in et if t not in gt][:1],[t[:100] for t in gt if t not in et][:1]))
print('time',round(time.time()-t0,1))
for k in ['reject']+list(tot):
    print(k, len(bad[k]), tot[k])
if want:
    for x in bad[want][:nshow]: print(x)
