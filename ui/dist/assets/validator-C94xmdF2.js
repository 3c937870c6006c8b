import{S as i}from"./index-BI7klvZk.js";const n=o=>["",...i].includes(o);export{n as i};
